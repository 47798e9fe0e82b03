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

"""``event_block``: the earliest collector time per block of event ids.

The late-event check of a snapshot reads it instead of walking an event
index (see ``storage.models.EventBlock``). The events already stored are
folded in here, in one ``GROUP BY`` over the event table, under the
writer name ``db upgrade``; from then on each agent worker adds its own
rows in the transaction of each batch.

Revision ID: 7b3e9f2a6c10
Revises: 5e0d1c7b9a24
Create Date: 2026-12-03 12:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

revision = '7b3e9f2a6c10'
down_revision = '5e0d1c7b9a24'
branch_labels = None
depends_on = None

# Frozen copy of storage.models.EVENT_BLOCK_IDS (a unit test compares).
BLOCK_IDS = 1024
WRITER = 'db upgrade'


def upgrade():
    op.create_table(
        'event_block',
        sa.Column('block', sa.BigInteger(), nullable=False,
                  autoincrement=False),
        sa.Column('writer', sa.String(255), nullable=False),
        sa.Column('min_collector_timestamp',
                  sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql'),
                  nullable=False),
        sa.PrimaryKeyConstraint('block', 'writer'),
        mysql_charset='utf8mb4', mysql_engine='InnoDB')
    conn = op.get_bind()
    event = sa.table('event', sa.column('id', sa.BigInteger),
                     sa.column('collector_timestamp', sa.DateTime))
    # SQLAlchemy's floor division: FLOOR() on MySQL, whose "/" gives a
    # decimal; the integer "/" elsewhere
    block = event.c.id // BLOCK_IDS
    rows = conn.execute(sa.select(
        block.label('block'),
        sa.func.min(event.c.collector_timestamp).label('earliest'))
        .group_by(block)).all()
    if rows:
        table = sa.table('event_block', sa.column('block', sa.BigInteger),
                         sa.column('writer', sa.String),
                         sa.column('min_collector_timestamp', sa.DateTime))
        conn.execute(table.insert(), [
            {'block': int(r.block), 'writer': WRITER,
             'min_collector_timestamp': r.earliest} for r in rows])
