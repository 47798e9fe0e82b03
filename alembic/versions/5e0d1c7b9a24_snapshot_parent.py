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

"""Incremental graph snapshots: ``graph_snapshot.parent_id``, ``data_bytes``.

A snapshot with ``format_version`` 2 holds only what changed since the
snapshot named by ``parent_id``; the snapshots stored so far are full
(``format_version`` 1, ``parent_id`` NULL) and are read as before.
``data_bytes`` is the size of ``data``, so that choosing between a delta
and a full snapshot does not read every stored snapshot; it is NULL for
the snapshots stored before (the next snapshot is then a full one).

Revision ID: 5e0d1c7b9a24
Revises: 5e2b8c1d7f43
Create Date: 2026-12-02 16:40:00
"""

from alembic import op
import sqlalchemy as sa

revision = '5e0d1c7b9a24'
down_revision = '5e2b8c1d7f43'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column: a plain ALTER TABLE ADD COLUMN on every backend,
    # SQLite included, so the stored snapshots are not copied.
    op.add_column('graph_snapshot',
                  sa.Column('parent_id', sa.BigInteger(), nullable=True))
    op.add_column('graph_snapshot',
                  sa.Column('data_bytes', sa.BigInteger(), nullable=True))
