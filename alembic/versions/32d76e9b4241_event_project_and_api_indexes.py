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

"""Event project for API tenant scoping; indexes for the API's filters.

Adds ``event.project_id`` (the project Vitrage's transformers would give
the entity, see ``vitrage_persistor/storage/tenancy.py``), fills it in for
the events already stored, and indexes ``(project_id, id)`` and
``(entity_type, id)`` so that an API page filtered by either is an index
range scan in id order rather than a sort of every matching row.

Revision ID: 32d76e9b4241
Revises: a7c41e9d05b2
Create Date: 2026-12-02 13:10:00
"""

import json

from alembic import op
import sqlalchemy as sa

revision = '32d76e9b4241'
down_revision = 'a7c41e9d05b2'
branch_labels = None
depends_on = None

_BATCH = 1000
# Frozen copy of storage.tenancy.project_of as of this revision.
_TOP_LEVEL_KEYS = ('project_id', 'tenant_id', 'os-vol-tenant-attr:tenant_id')


def _usable(value):
    return (isinstance(value, str) and value.strip() != ''
            and len(value) <= 64 and '\x00' not in value)


def _project_of(payload_text):
    try:
        event = json.loads(payload_text)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    for key in _TOP_LEVEL_KEYS:
        if _usable(event.get(key)):
            return event[key]
    nested = event.get('nova_object.data')
    if isinstance(nested, dict) and _usable(nested.get('tenant_id')):
        return nested['tenant_id']
    return None


def _backfill(conn):
    event = sa.table('event', sa.column('id', sa.BigInteger),
                     sa.column('payload', sa.Text),
                     sa.column('project_id', sa.String(64)))
    cursor = 0
    while True:
        rows = conn.execute(
            sa.select(event.c.id, event.c.payload)
            .where(event.c.id > cursor).order_by(event.c.id)
            .limit(_BATCH)).all()
        if not rows:
            return
        updates = [{'row_id': row.id, 'project': project}
                   for row in rows
                   if (project := _project_of(row.payload)) is not None]
        if updates:
            conn.execute(
                event.update().where(event.c.id == sa.bindparam('row_id'))
                .values(project_id=sa.bindparam('project')), updates)
        cursor = rows[-1].id


def upgrade():
    op.add_column('event',
                  sa.Column('project_id', sa.String(64), nullable=True))
    _backfill(op.get_bind())
    op.drop_index('ix_event_entity_type', table_name='event')
    op.create_index('ix_event_entity_type_id', 'event', ['entity_type', 'id'])
    op.create_index('ix_event_project_id_id', 'event', ['project_id', 'id'])
