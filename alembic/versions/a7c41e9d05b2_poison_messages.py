# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Poison messages: where a quarantine row came from, and agent reports.

Quarantine rows say which stage refused the message (``source``), how
``raw`` is written (``raw_format``) and whether text had to be escaped
(``text_escaped``; not ``escaped``, a reserved word in MySQL).
``agent_report`` keeps each agent worker's latest counters for the API's
status.

Revision ID: a7c41e9d05b2
Revises: 3f1c0a9d2b7e
Create Date: 2026-12-02 13:30:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = 'a7c41e9d05b2'
down_revision = '3f1c0a9d2b7e'
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
_TABLE_ARGS = {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'}


def upgrade():
    with op.batch_alter_table('quarantine') as batch:
        batch.add_column(sa.Column('source', sa.String(16), nullable=False,
                                   server_default='endpoint'))
        batch.add_column(sa.Column('raw_format', sa.String(16),
                                   nullable=False, server_default='json'))
        batch.add_column(sa.Column('text_escaped', sa.Boolean,
                                   nullable=False,
                                   server_default=sa.false()))

    op.create_table(
        'agent_report',
        sa.Column('id', _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column('agent', sa.String(255), nullable=False),
        sa.Column('started_at', _TIMESTAMP, nullable=False),
        sa.Column('reported_at', _TIMESTAMP, nullable=False),
        sa.Column('counters', sa.Text, nullable=False),
        sa.UniqueConstraint('agent', name='uniq_agent_report0agent'),
        **_TABLE_ARGS)
