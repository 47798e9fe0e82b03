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

"""Initial schema: event, graph_snapshot and quarantine.

Revision ID: 3f1c0a9d2b7e
Revises:
Create Date: 2026-11-22 11:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '3f1c0a9d2b7e'
down_revision = None
branch_labels = None
depends_on = None

# Written out rather than imported from models: a revision is frozen when
# released, while the models keep moving.
_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
_LONGTEXT = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql')
_LONGBLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mysql')
_TABLE_ARGS = {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'}


def upgrade():
    op.create_table(
        'event',
        sa.Column('id', _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column('message_id', sa.String(64), nullable=False),
        sa.Column('collector_timestamp', _TIMESTAMP, nullable=False),
        sa.Column('publisher_id', sa.String(255), nullable=False),
        sa.Column('sequence', sa.BigInteger, nullable=False),
        sa.Column('event_type', sa.String(255), nullable=False),
        sa.Column('entity_type', sa.String(255), nullable=False),
        sa.Column('datasource_action', sa.String(64), nullable=True),
        sa.Column('stored_at', _TIMESTAMP, nullable=False),
        sa.Column('payload', _LONGTEXT, nullable=False),
        sa.UniqueConstraint('message_id', name='uniq_event0message_id'),
        **_TABLE_ARGS)
    op.create_index('ix_event_replay_order', 'event',
                    ['collector_timestamp', 'publisher_id', 'sequence', 'id'])
    op.create_index('ix_event_entity_type', 'event', ['entity_type'])

    op.create_table(
        'graph_snapshot',
        sa.Column('id', _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column('created_at', _TIMESTAMP, nullable=False),
        sa.Column('collector_timestamp', _TIMESTAMP, nullable=False),
        sa.Column('last_publisher_id', sa.String(255), nullable=False),
        sa.Column('last_sequence', sa.BigInteger, nullable=False),
        sa.Column('last_event_id', sa.BigInteger, nullable=False),
        sa.Column('max_event_id', sa.BigInteger, nullable=False),
        sa.Column('event_count', sa.BigInteger, nullable=False),
        sa.Column('format_version', sa.Integer, nullable=False),
        sa.Column('processor', sa.String(64), nullable=False),
        sa.Column('vertex_count', sa.Integer, nullable=False),
        sa.Column('edge_count', sa.Integer, nullable=False),
        sa.Column('data', _LONGBLOB, nullable=False),
        **_TABLE_ARGS)
    op.create_index('ix_graph_snapshot_collector_timestamp',
                    'graph_snapshot', ['collector_timestamp'])

    op.create_table(
        'quarantine',
        sa.Column('id', _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column('message_id', sa.String(64), nullable=True),
        sa.Column('received_at', _TIMESTAMP, nullable=False),
        sa.Column('publisher_id', sa.String(255), nullable=True),
        sa.Column('event_type', sa.String(255), nullable=True),
        sa.Column('reason', sa.String(64), nullable=False),
        sa.Column('detail', sa.Text, nullable=False),
        sa.Column('raw', _LONGTEXT, nullable=True),
        sa.UniqueConstraint('message_id', name='uniq_quarantine0message_id'),
        **_TABLE_ARGS)
    op.create_index('ix_quarantine_reason', 'quarantine', ['reason'])
    op.create_index('ix_quarantine_received_at', 'quarantine',
                    ['received_at'])
