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

"""SQLAlchemy models of the stored history.

The tables are written by the persistor agent and read by replay and the
API. The schema itself is created by the Alembic revisions under the
top-level ``alembic/`` directory; these models must match them, which the
functional migration tests check on every backend.
"""

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import mysql

# SQLite auto-increments only "INTEGER PRIMARY KEY"; elsewhere the replay
# cursor is a BIGINT so it never wraps.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# Microsecond precision everywhere (MySQL's DATETIME defaults to seconds).
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql')
# Payloads up to [persistor] max_payload_bytes; MySQL's TEXT stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql')
LongBlob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mysql')


class Base(orm.DeclarativeBase):
    pass


class Event(Base):
    """One enriched event, stored exactly once.

    ``id`` is the global replay cursor: it only grows. Replay order is
    ``(collector_timestamp, publisher_id, sequence, id)``; see
    ``doc/source/ordering.rst``.
    """

    __tablename__ = 'event'
    __table_args__ = (
        sa.UniqueConstraint('message_id', name='uniq_event0message_id'),
        sa.Index('ix_event_replay_order', 'collector_timestamp',
                 'publisher_id', 'sequence', 'id'),
        sa.Index('ix_event_entity_type_id', 'entity_type', 'id'),
        sa.Index('ix_event_project_id_id', 'project_id', 'id'),
        sa.Index('ix_event_entity_id_id', 'entity_id', 'id'),
        {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'},
    )

    id = sa.Column(BigIntId, primary_key=True, autoincrement=True)
    message_id = sa.Column(sa.String(64), nullable=False)
    collector_timestamp = sa.Column(Timestamp, nullable=False)
    publisher_id = sa.Column(sa.String(255), nullable=False, default='')
    sequence = sa.Column(sa.BigInteger, nullable=False, default=0)
    event_type = sa.Column(sa.String(255), nullable=False)
    entity_type = sa.Column(sa.String(255), nullable=False)
    datasource_action = sa.Column(sa.String(64), nullable=True)
    stored_at = sa.Column(Timestamp, nullable=False)
    payload = sa.Column(LongText, nullable=False)
    # storage.tenancy.project_of(payload); NULL for no project
    project_id = sa.Column(sa.String(64), nullable=True)
    # storage.entity_ids.entity_id_of(payload): the entity's history index
    entity_id = sa.Column(sa.String(255), nullable=True)


class GraphSnapshot(Base):
    """A JSON entity graph, compressed (``snapshot_codec``), never a pickle.

    It holds the graph after applying, in replay order, every event whose
    order key is at or before ``(collector_timestamp, last_publisher_id,
    last_sequence, last_event_id)``. ``max_event_id`` is the largest event
    id that existed when it was taken, so a reader can tell which late
    arrivals it could not have seen.
    """

    __tablename__ = 'graph_snapshot'
    __table_args__ = (
        sa.Index('ix_graph_snapshot_collector_timestamp',
                 'collector_timestamp'),
        {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'},
    )

    id = sa.Column(BigIntId, primary_key=True, autoincrement=True)
    created_at = sa.Column(Timestamp, nullable=False)
    collector_timestamp = sa.Column(Timestamp, nullable=False)
    last_publisher_id = sa.Column(sa.String(255), nullable=False)
    last_sequence = sa.Column(sa.BigInteger, nullable=False)
    last_event_id = sa.Column(sa.BigInteger, nullable=False)
    max_event_id = sa.Column(sa.BigInteger, nullable=False)
    event_count = sa.Column(sa.BigInteger, nullable=False, default=0)
    format_version = sa.Column(sa.Integer, nullable=False)
    processor = sa.Column(sa.String(64), nullable=False)
    vertex_count = sa.Column(sa.Integer, nullable=False, default=0)
    edge_count = sa.Column(sa.Integer, nullable=False, default=0)
    data = sa.Column(LongBlob, nullable=False)
    # An incremental snapshot (format_version 2) holds the changes since
    # its parent; a full one (format_version 1) has none.
    parent_id = sa.Column(sa.BigInteger, nullable=True)
    # len(data); NULL for snapshots stored before it was recorded
    data_bytes = sa.Column(sa.BigInteger, nullable=True)


# Event ids per row of ``event_block``. Stored rows depend on it: never
# change it (the migration that creates the table uses the same number,
# which a unit test checks).
EVENT_BLOCK_IDS = 1024


class EventBlock(Base):
    """The earliest collector time of each writer's events per id block.

    Block ``b`` holds the event ids ``b * EVENT_BLOCK_IDS`` up to the next
    block. Each agent worker (``writer``, as in ``agent_report``) folds
    the events of a batch into its own rows, in the batch's transaction,
    so the rows always cover every committed event and two writers never
    touch the same row. A snapshot's late-event check (an id above its
    ``max_event_id``, an order key at or before what it covers) then
    reads only the blocks whose earliest time is at or before the
    snapshot's, instead of either side of the event indexes: its cost is
    the late events, not the length of the history.
    """

    __tablename__ = 'event_block'
    __table_args__ = (
        {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'},
    )

    block = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    writer = sa.Column(sa.String(255), primary_key=True)
    min_collector_timestamp = sa.Column(Timestamp, nullable=False)


class QuarantinedEvent(Base):
    """A notification we refused to store as an event, and why."""

    __tablename__ = 'quarantine'
    __table_args__ = (
        sa.UniqueConstraint('message_id', name='uniq_quarantine0message_id'),
        sa.Index('ix_quarantine_reason', 'reason'),
        sa.Index('ix_quarantine_received_at', 'received_at'),
        {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'},
    )

    id = sa.Column(BigIntId, primary_key=True, autoincrement=True)
    message_id = sa.Column(sa.String(64), nullable=True)
    received_at = sa.Column(Timestamp, nullable=False)
    publisher_id = sa.Column(sa.String(255), nullable=True)
    event_type = sa.Column(sa.String(255), nullable=True)
    reason = sa.Column(sa.String(64), nullable=False)
    detail = sa.Column(sa.Text, nullable=False)
    raw = sa.Column(LongText, nullable=True)
    # Which stage refused it: endpoint, dispatcher or dead_letter.
    source = sa.Column(sa.String(16), nullable=False,
                       server_default='endpoint')
    # How raw is written: json (ASCII JSON), text (UTF-8 body) or base64.
    raw_format = sa.Column(sa.String(16), nullable=False,
                           server_default='json')
    # True when text no database stores was replaced by backslash escapes.
    text_escaped = sa.Column(sa.Boolean, nullable=False,
                             server_default=sa.false())


class AgentReport(Base):
    """The latest counters of one agent worker, for ``/v1/status``.

    Each worker overwrites its own row every ``[persistor]
    stats_interval``, so the API (another process, maybe another host)
    can show redeliveries, dead-lettered messages and conflicts, and when
    each worker last reported.
    """

    __tablename__ = 'agent_report'
    __table_args__ = (
        sa.UniqueConstraint('agent', name='uniq_agent_report0agent'),
        {'mysql_charset': 'utf8mb4', 'mysql_engine': 'InnoDB'},
    )

    id = sa.Column(BigIntId, primary_key=True, autoincrement=True)
    agent = sa.Column(sa.String(255), nullable=False)
    started_at = sa.Column(Timestamp, nullable=False)
    reported_at = sa.Column(Timestamp, nullable=False)
    counters = sa.Column(sa.Text, nullable=False)
