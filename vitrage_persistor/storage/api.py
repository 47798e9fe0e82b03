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

"""The event store: batched idempotent inserts, ordered streams, snapshots.

Every write of the agent goes through :meth:`Store.add_batch`: one
transaction, and one multi-row INSERT per table with the dialect's own
insert-ignore on ``message_id``, so a redelivered message never creates a
second row. Reads are keyset-paginated in replay order, so memory stays
bounded whatever the history length.
"""

import dataclasses
import datetime
import hashlib
import json
import os
import socket
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import api as db_api
from oslo_db import exception as db_exception
from oslo_log import log
from oslo_utils import timeutils
from sqlalchemy.dialects import mysql, postgresql, sqlite

from vitrage_persistor.storage import (
    engine,
    entity_ids,
    event_blocks,
    models,
    records,
    snapshot_codec,
)

LOG = log.getLogger(__name__)

# Database faults that mean "not reachable now", not "our bug": what the
# API answers with a 503 and the standby waits out.
UNAVAILABLE = (db_exception.DBConnectionError, sa.exc.OperationalError,
               sa.exc.TimeoutError)

# SQLite's limit on bound parameters (32766 since 3.32) and MySQL's
# max_allowed_packet (16 MiB by default) both cap one statement; a batch
# is split into statements under these, still inside one transaction.
_MAX_ROWS_PER_STATEMENT = {'sqlite': 2000}
_MAX_BYTES_PER_STATEMENT = 8 * 1024 * 1024
# Bytes of a statement that are not the payload: the other columns of a
# row, and the statement's own text.
_ROW_OVERHEAD = 512
_PACKET_MARGIN = 64 * 1024
# How many message ids one IN (...) lists.
_IN_CHUNK = 500

CONFLICTING_DUPLICATE = 'conflicting_duplicate'
# What a quarantine row keeps of a payload (people read it, nobody
# replays it).
_RAW_LIMIT = 64 * 1024

EVENT = models.Event.__table__
SNAPSHOT = models.GraphSnapshot.__table__
QUARANTINE = models.QuarantinedEvent.__table__
AGENT_REPORT = models.AgentReport.__table__

# oslo.db's default for [database] db_max_retries: the agent's deadlock
# retry is always bounded, so a negative value ("forever" for oslo.db's
# legacy DB API) means this many.
_DEFAULT_DEADLOCK_RETRIES = 20


def _insert_ignore(dialect_name: str, table: sa.Table):
    """INSERT that silently skips rows whose message_id already exists."""
    if dialect_name == 'postgresql':
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=['message_id'])
    if dialect_name == 'sqlite':
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=['message_id'])
    if dialect_name in ('mysql', 'mariadb'):
        return mysql.insert(table).prefix_with('IGNORE')
    raise NotImplementedError(
        'unsupported database dialect %r' % dialect_name)


def _chunks(rows: list, dialect_name: str, size_of, max_bytes: int
            ) -> Iterator[list]:
    """Split ``rows`` into statements of at most ``max_bytes`` (UTF-8)."""
    max_rows = _MAX_ROWS_PER_STATEMENT.get(dialect_name, len(rows) or 1)
    chunk, nbytes = [], 0
    for row in rows:
        row_bytes = size_of(row)
        if chunk and (len(chunk) >= max_rows or
                      nbytes + row_bytes > max_bytes):
            yield chunk
            chunk, nbytes = [], 0
        chunk.append(row)
        nbytes += row_bytes
    if chunk:
        yield chunk


def _event_row(event: records.EventRecord, now) -> dict:
    return {
        'message_id': event.message_id,
        'collector_timestamp': records.utc_naive(event.collector_timestamp),
        'publisher_id': event.publisher_id,
        'sequence': event.sequence,
        'event_type': event.event_type,
        'entity_type': event.entity_type,
        'datasource_action': event.datasource_action,
        'stored_at': now,
        'payload': event.payload_json,
        'project_id': event.project_id,
        'entity_id': event.entity_id,
    }


# The event columns in the order of the rows the fast path sends.
_EVENT_COLUMNS = ('message_id', 'collector_timestamp', 'publisher_id',
                  'sequence', 'event_type', 'entity_type',
                  'datasource_action', 'stored_at', 'payload', 'project_id',
                  'entity_id')
_PAYLOAD_INDEX = _EVENT_COLUMNS.index('payload')
# The fast path's insert-ignore, per dialect; the same semantics as
# _insert_ignore(), written out so the multi-row VALUES can be cached.
_FAST_INSERT = {
    'postgresql': ('INSERT INTO %(table)s (%(columns)s) VALUES %(values)s '
                   'ON CONFLICT (message_id) DO NOTHING'),
    'mysql': 'INSERT IGNORE INTO %(table)s (%(columns)s) VALUES %(values)s',
    'mariadb': 'INSERT IGNORE INTO %(table)s (%(columns)s) VALUES %(values)s',
}
# What an insert gives back of each row it stored, for event_blocks.note.
_RETURNING = ' RETURNING id, collector_timestamp'


def _event_values(event: records.EventRecord, now) -> tuple:
    return (event.message_id, records.utc_naive(event.collector_timestamp),
            event.publisher_id, event.sequence, event.event_type,
            event.entity_type, event.datasource_action, now,
            event.payload_json, event.project_id, event.entity_id)


def _fast_path_ok(dialect) -> bool:
    """Can the DBAPI take our values as they are, like SQLAlchemy would?

    True when the dialect has a written-out insert-ignore, a ``%s``
    paramstyle, and no bind processor on any event column (SQLAlchemy
    would otherwise convert the value first, e.g. SQLite's DateTime,
    which stores a string with fixed microseconds).
    """
    if dialect.name not in _FAST_INSERT or \
            dialect.paramstyle not in ('format', 'pyformat'):
        return False
    return all(EVENT.c[name].type.dialect_impl(dialect).bind_processor(
        dialect) is None for name in _EVENT_COLUMNS)


class _FastEventInsert:
    """A multi-row INSERT ... VALUES with the insert-ignore, by row count.

    SQLAlchemy sends an executemany of a Core insert to psycopg2 as one
    statement per row (one round trip each) and processes every parameter
    in Python; here each chunk is one statement whose text is built once
    per row count, and the driver quotes the values in C. It runs through
    ``exec_driver_sql`` on the same connection, inside the same
    transaction, so oslo.db still translates errors (``DBDataError`` and
    friends). It returns the id and collector time of each row really
    inserted, with ``RETURNING`` where the server has it (PostgreSQL,
    MariaDB 10.5 and later), else by reading the chunk's rows back.
    """

    def __init__(self, dialect):
        quote = dialect.identifier_preparer.quote
        self._returning = dialect.insert_returning
        self._template = _FAST_INSERT[dialect.name] + (
            _RETURNING if self._returning else '')
        self._table = quote(EVENT.name)
        self._columns = ', '.join(quote(c) for c in _EVENT_COLUMNS)
        self._row = '(%s)' % ', '.join(['%s'] * len(_EVENT_COLUMNS))
        self._sql = {}

    def sql(self, nrows: int) -> str:
        text = self._sql.get(nrows)
        if text is None:
            text = self._template % {
                'table': self._table, 'columns': self._columns,
                'values': ', '.join([self._row] * nrows)}
            if len(self._sql) > 64:
                self._sql.clear()
            self._sql[nrows] = text
        return text

    def execute(self, conn, rows: list[tuple]) -> tuple[int, list]:
        """``(rows stored, their (id, collector time) or more)``."""
        params = tuple(value for row in rows for value in row)
        result = conn.exec_driver_sql(self.sql(len(rows)), params)
        if self._returning:
            stored = [tuple(r) for r in result.all()]
            return len(stored), stored
        return max(result.rowcount, 0), _read_back(conn, [r[0] for r in rows])


def _read_back(conn, message_ids: list[str]) -> list[tuple]:
    """``(id, collector time)`` of the rows with these message ids.

    Rows stored before (redeliveries) are included: more than the insert
    stored, which only makes ``event_blocks`` earlier than it must be.
    """
    found = []
    for start in range(0, len(message_ids), _IN_CHUNK):
        found += conn.execute(sa.select(
            EVENT.c.id, EVENT.c.collector_timestamp).where(
            EVENT.c.message_id.in_(message_ids[start:start + _IN_CHUNK])
        )).all()
    return [tuple(r) for r in found]


def _insert_events(conn, rows: list[dict]) -> tuple[int, list]:
    """Core insert-ignore of ``rows``: like :class:`_FastEventInsert`.

    On SQLite (the only backend without the fast path) the transaction
    holds the write lock from its first insert, and each new row gets the
    largest rowid plus one, so the ``rowcount`` rows stored are the ids
    up to ``last_insert_rowid()``. Reading them back costs a primary key
    range, where ``RETURNING`` through SQLAlchemy's executemany cost 10 %
    of the agent's CPU per event. (A read *before* the insert would make
    a WAL transaction fail with "database is locked" when another writer
    commits in between.)
    """
    insert = _insert_ignore(conn.dialect.name, EVENT)
    result = conn.execute(insert, rows)
    count = max(result.rowcount, 0)
    if conn.dialect.name != 'sqlite':
        return count, _read_back(conn, [r['message_id'] for r in rows])
    if not count:
        return 0, []
    last = conn.execute(sa.select(sa.func.last_insert_rowid())).scalar()
    stored = conn.execute(sa.select(
        EVENT.c.id, EVENT.c.collector_timestamp).where(
        EVENT.c.id > last - count, EVENT.c.id <= last)).all()
    return count, [tuple(r) for r in stored]


def _quarantine_row(item: records.QuarantineRecord, now) -> dict:
    return {
        'message_id': item.message_id,
        'received_at': now,
        'publisher_id': item.publisher_id,
        'event_type': item.event_type,
        'reason': item.reason,
        'detail': item.detail,
        'raw': item.raw,
        'source': item.source,
        'raw_format': item.raw_format,
        'text_escaped': item.text_escaped,
    }


def _quarantine_size(row: dict) -> int:
    text = (row['raw'] or '') + row['detail']
    return len(text.encode('utf-8', 'surrogatepass')) + _ROW_OVERHEAD


def _conflict_record(event: records.EventRecord) -> records.QuarantineRecord:
    """The quarantine row of an event whose message_id is taken."""
    digest = hashlib.sha256(event.payload_json.encode(
        'utf-8', 'surrogatepass')).hexdigest()[:16]
    suffix = '~' + digest
    head = event.message_id[:64 - len(suffix)]
    return records.QuarantineRecord(
        reason=CONFLICTING_DUPLICATE,
        detail='message_id %s is already stored with another payload; this '
               'later payload (sha256 %s...) was not stored as an event'
               % (event.message_id, digest),
        raw=event.payload_json[:_RAW_LIMIT], message_id=head + suffix,
        publisher_id=event.publisher_id, event_type=event.event_type,
        source='endpoint', raw_format='json')


def _conflicts_with_stored(conn, unique: dict, now
                           ) -> list[records.EventRecord]:
    """Events of the batch whose message_id was stored with another payload.

    Only rows that existed before this batch are read back (``stored_at``
    differs from this batch's), so a batch without redeliveries costs
    nothing here.
    """
    ids = list(unique)
    found = []
    for start in range(0, len(ids), _IN_CHUNK):
        rows = conn.execute(sa.select(EVENT.c.message_id, EVENT.c.payload)
                            .where(EVENT.c.message_id.in_(
                                ids[start:start + _IN_CHUNK]),
                                EVENT.c.stored_at != now))
        for message_id, payload in rows:
            event = unique[message_id]
            if payload != event.payload_json:
                found.append(event)
    return found


def _stored_event(row) -> records.StoredEvent:
    return records.StoredEvent(
        id=row.id, message_id=row.message_id,
        collector_timestamp=row.collector_timestamp,
        publisher_id=row.publisher_id, sequence=row.sequence,
        event_type=row.event_type, entity_type=row.entity_type,
        datasource_action=row.datasource_action,
        payload=records.decode_payload(row.payload),
        project_id=row.project_id, entity_id=row.entity_id)


_ORDER_COLUMNS = (EVENT.c.collector_timestamp, EVENT.c.publisher_id,
                  EVENT.c.sequence, EVENT.c.id)
_SNAPSHOT_KEY = (SNAPSHOT.c.collector_timestamp, SNAPSHOT.c.last_publisher_id,
                 SNAPSHOT.c.last_sequence, SNAPSHOT.c.last_event_id)


def _key_literal(key: records.OrderKey):
    return sa.tuple_(
        sa.literal(records.utc_naive(key.collector_timestamp),
                   models.Timestamp),
        sa.literal(key.publisher_id, sa.String()),
        sa.literal(key.sequence, sa.BigInteger()),
        sa.literal(key.id, sa.BigInteger()))


def _project_clause(projects: Sequence[str | None]):
    """WHERE clause: the event's project is one of ``projects``."""
    named = [p for p in projects if p is not None]
    clauses = [EVENT.c.project_id.in_(named)] if named else []
    if None in projects:
        clauses.append(EVENT.c.project_id.is_(None))
    return sa.or_(*clauses) if clauses else sa.false()


class Store:
    """Everything the services read and write, over one ``[database]``."""

    def __init__(self, conf: cfg.ConfigOpts, **engine_overrides):
        self.conf = conf
        self._context = engine.make_context(conf, **engine_overrides)
        self._url = conf.database.connection
        self._fast: _FastEventInsert | None = None
        self._fast_checked = False
        self._statement_bytes: int | None = None
        # an event stored without its event_block row was logged
        self._unnoted_told = False

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, **overrides) -> 'Store':
        url = conf.database.connection or ''
        if url.startswith('sqlite:///'):
            path = url[len('sqlite:///'):].split('?')[0]
            if path and path != ':memory:':
                os.makedirs(os.path.dirname(os.path.abspath(path)),
                            exist_ok=True)
        return cls(conf, **overrides)

    # -- engine ---------------------------------------------------------

    @property
    def engine(self) -> sa.engine.Engine:
        return self._context.writer.get_engine()

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    def _writer(self):
        return self._context.writer.connection.using(
            engine.RequestContext())

    def _reader(self):
        return self._context.reader.connection.using(
            engine.RequestContext())

    def _fast_insert(self, dialect) -> '_FastEventInsert | None':
        """The event insert fast path for this store, or None."""
        if not self._fast_checked:
            self._fast = (_FastEventInsert(dialect)
                          if _fast_path_ok(dialect) else None)
            self._fast_checked = True
        return self._fast

    def dispose(self) -> None:
        # oslo.db has no public "has this context made its engine yet?":
        # asking for .writer.get_engine() would start it just to dispose
        # of it. tests/unit/test_private_apis.py pins _factory._started.
        if self._context._factory._started:  # private, see above
            self.engine.dispose()

    # -- writes ---------------------------------------------------------

    def statement_bytes(self) -> int:
        """Largest payload bytes one INSERT may carry on this database.

        MySQL and MariaDB drop the connection ("server has gone away") on
        a packet over ``max_allowed_packet``. The driver may escape a
        JSON payload to up to twice its size, so a statement carries at
        most half the server's limit, less a margin for the other columns.
        Elsewhere :data:`_MAX_BYTES_PER_STATEMENT` keeps statements modest.
        """
        if self._statement_bytes is None:
            limit = _MAX_BYTES_PER_STATEMENT
            if self.dialect_name in ('mysql', 'mariadb'):
                with self._reader() as conn:
                    packet = int(conn.exec_driver_sql(
                        'SELECT @@max_allowed_packet').scalar())
                limit = min(limit, max(1024, (packet - _PACKET_MARGIN) // 2))
            self._statement_bytes = limit
        return self._statement_bytes

    def max_payload_bytes(self) -> int:
        """The largest payload a single row can carry on this database."""
        return max(1024, self.statement_bytes() - _ROW_OVERHEAD)

    def add_batch(self, events: Sequence[records.EventRecord],
                  quarantined: Sequence[records.QuarantineRecord] = ()
                  ) -> records.BatchResult:
        """Store a batch in one transaction; skip known message_ids.

        Returns how many events were new, how many were redeliveries of
        rows already stored (or repeated inside the batch), how many
        quarantine rows were new, and how many events reused a stored
        ``message_id`` with another payload. Those are not dropped: each
        becomes a ``conflicting_duplicate`` quarantine row in the same
        transaction, keyed by the id and a digest of its payload.

        A transaction that fails with a deadlock is rolled back and run
        again (:meth:`_deadlock_retry`): InnoDB reports a deadlock between
        two writers of the same ``message_id``, and Galera reports its
        certification failure (the same row committed first through
        another node) as one. The retry's insert-ignore then finds the
        row, so each event is still stored once.
        """
        attempts = 0

        def write():
            nonlocal attempts
            attempts += 1
            return self._add_batch_once(events, quarantined)

        try:
            result = self._deadlock_retry(write)()
        except db_exception.DBDeadlock:
            LOG.warning('batch of %d events and %d quarantine rows still '
                        'deadlocked after %d attempts; giving up on it',
                        len(events), len(quarantined), attempts)
            raise
        if attempts > 1:
            LOG.warning('batch of %d events and %d quarantine rows '
                        'committed after %d deadlock or certification '
                        'failure retries', len(events), len(quarantined),
                        attempts - 1)
        return dataclasses.replace(result, retries=attempts - 1)

    def _deadlock_retry(self, function):
        """``function`` wrapped in oslo.db's retry, for deadlocks only.

        Bounded by ``[database] db_max_retries`` (a negative value counts
        as oslo.db's default, 20), waiting ``db_retry_interval`` seconds
        first, then a random time up to twice the previous one (oslo.db
        adds jitter on deadlocks so that two writers do not collide
        again), at most ``db_max_retry_interval``.
        """
        db = self.conf.database
        retries = db.db_max_retries
        if retries < 0:
            retries = _DEFAULT_DEADLOCK_RETRIES
        return db_api.wrap_db_retry(
            max_retries=retries, retry_interval=db.db_retry_interval,
            inc_retry_interval=db.db_inc_retry_interval,
            max_retry_interval=db.db_max_retry_interval,
            retry_on_deadlock=True)(function)

    def _add_batch_once(self, events: Sequence[records.EventRecord],
                        quarantined: Sequence[records.QuarantineRecord]
                        ) -> records.BatchResult:
        """One attempt of :meth:`add_batch`: one transaction."""
        now = timeutils.utcnow()
        unique: dict[str, records.EventRecord] = {}
        conflicting: list[records.EventRecord] = []
        for event in events:
            first = unique.setdefault(event.message_id, event)
            if first is not event and \
                    first.payload_json != event.payload_json:
                conflicting.append(event)
        budget = self.statement_bytes()
        stored = q_stored = 0
        with self._writer() as conn:
            dialect = conn.dialect.name
            fast = self._fast_insert(conn.dialect)
            blocks = []
            for chunk in _chunks(list(unique.values()), dialect,
                                 lambda e: e.size() + _ROW_OVERHEAD, budget):
                if fast is not None:
                    count, rows = fast.execute(
                        conn, [_event_values(e, now) for e in chunk])
                else:
                    count, rows = _insert_events(
                        conn, [_event_row(e, now) for e in chunk])
                stored += count
                blocks += rows
            event_blocks.note(conn, self.agent_name(), blocks)
            if stored < len(unique):
                conflicting += _conflicts_with_stored(conn, unique, now)
            q_rows = [_quarantine_row(q, now) for q in quarantined]
            q_rows += [_quarantine_row(_conflict_record(e), now)
                       for e in conflicting]
            for chunk in _chunks(q_rows, dialect, _quarantine_size, budget):
                result = conn.execute(
                    _insert_ignore(dialect, QUARANTINE), chunk)
                q_stored += max(result.rowcount, 0)
        return records.BatchResult(
            stored=stored,
            duplicates=len(events) - stored - len(conflicting),
            quarantined=q_stored, conflicts=len(conflicting))

    # -- event reads ------------------------------------------------------

    def iter_events(self, after: records.OrderKey | None = None,
                    until_time: datetime.datetime | None = None,
                    until: records.OrderKey | None = None,
                    page_size: int = 1000,
                    until_id: int | None = None
                    ) -> Iterator[records.StoredEvent]:
        """Yield events in replay order, one keyset page at a time.

        ``after`` is exclusive; ``until_time`` and ``until`` are inclusive.
        ``until_id`` leaves out rows stored after the reader looked (ids
        above it), so a replay sees one consistent set of events.
        """
        order = sa.tuple_(*_ORDER_COLUMNS)
        cursor = after
        while True:
            query = sa.select(EVENT).order_by(*_ORDER_COLUMNS).limit(
                page_size)
            if cursor is not None:
                query = query.where(order > _key_literal(cursor))
            if until_time is not None:
                query = query.where(EVENT.c.collector_timestamp <=
                                    records.utc_naive(until_time))
            if until is not None:
                query = query.where(order <= _key_literal(until))
            if until_id is not None:
                query = query.where(EVENT.c.id <= until_id)
            with self._reader() as conn:
                page = [_stored_event(r) for r in conn.execute(query)]
            yield from page
            if len(page) < page_size:
                return
            cursor = page[-1].order_key

    def iter_events_by_id(self, after_id: int = 0, page_size: int = 1000
                          ) -> Iterator[records.StoredEvent]:
        """Yield events in insertion (id) order, as a tailing reader does."""
        cursor = after_id
        while True:
            query = (sa.select(EVENT).where(EVENT.c.id > cursor)
                     .order_by(EVENT.c.id).limit(page_size))
            with self._reader() as conn:
                page = [_stored_event(r) for r in conn.execute(query)]
            yield from page
            if len(page) < page_size:
                return
            cursor = page[-1].id

    def count_events_between(self, after_id: int, until_id: int) -> int:
        """How many rows have ``after_id < id <= until_id`` (one count)."""
        with self._reader() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                EVENT).where(EVENT.c.id > after_id,
                             EVENT.c.id <= until_id)).scalar() or 0

    def event_ids_between(self, after_id: int, until_id: int) -> list[int]:
        """The ids of the rows with ``after_id < id <= until_id``."""
        with self._reader() as conn:
            return list(conn.execute(sa.select(EVENT.c.id).where(
                EVENT.c.id > after_id, EVENT.c.id <= until_id)
                .order_by(EVENT.c.id)).scalars())

    def get_event(self, event_id: int,
                  projects: Sequence[str | None] | None = None
                  ) -> records.StoredEvent | None:
        """One event by id; ``projects`` as in :meth:`list_events_page`."""
        query = sa.select(EVENT).where(EVENT.c.id == event_id)
        if projects is not None:
            query = query.where(_project_clause(projects))
        with self._reader() as conn:
            row = conn.execute(query).first()
        return _stored_event(row) if row is not None else None

    def list_events_page(self, after_id: int = 0, limit: int = 100,
                         entity_type: str | None = None,
                         since: datetime.datetime | None = None,
                         before: datetime.datetime | None = None,
                         projects: Sequence[str | None] | None = None
                         ) -> list[records.StoredEvent]:
        """One page of the API's event listing, in id order.

        Every filter is a WHERE clause, so a page costs one index range
        scan: ``entity_type`` and ``projects`` have ``(column, id)``
        indexes. ``since`` is inclusive and ``before`` exclusive, on
        ``collector_timestamp``. ``projects`` None means every event;
        otherwise only events of those projects, where None stands for
        events that belong to no project.
        """
        query = (sa.select(EVENT).where(EVENT.c.id > after_id)
                 .order_by(EVENT.c.id).limit(limit))
        if entity_type is not None:
            query = query.where(EVENT.c.entity_type == entity_type)
        return self._bounded_page(query, since, before, projects)

    def _bounded_page(self, query, since, before, projects
                      ) -> list[records.StoredEvent]:
        """``query`` within the time bounds and projects, run."""
        if since is not None:
            query = query.where(EVENT.c.collector_timestamp >=
                                records.utc_naive(since))
        if before is not None:
            query = query.where(EVENT.c.collector_timestamp <
                                records.utc_naive(before))
        if projects is not None:
            query = query.where(_project_clause(projects))
        with self._reader() as conn:
            return [_stored_event(r) for r in conn.execute(query)]

    def entity_history_page(self, ids: Sequence[str],
                            after_id: int = 0, limit: int = 100,
                            alarms: bool = True,
                            since: datetime.datetime | None = None,
                            before: datetime.datetime | None = None,
                            projects: Sequence[str | None] | None = None
                            ) -> list[records.StoredEvent]:
        """One page of the events about any of the entity ``ids``, by id.

        ``entity_id IN (...) AND id > after_id ORDER BY id`` is a range
        scan of the ``(entity_id, id)`` index per value (see
        ``doc/source/storage.rst`` for the plan). ``alarms`` False leaves
        out the events of alarms raised on the entity
        (:data:`entity_ids.ALARM_ENTITY_TYPES`); the other filters are
        those of :meth:`list_events_page`.
        """
        query = (sa.select(EVENT)
                 .where(EVENT.c.entity_id.in_(list(ids)),
                        EVENT.c.id > after_id)
                 .order_by(EVENT.c.id).limit(limit))
        if not alarms:
            query = query.where(EVENT.c.entity_type.not_in(
                entity_ids.ALARM_ENTITY_TYPES))
        return self._bounded_page(query, since, before, projects)

    def event_counts(self) -> dict:
        """Counts and bounds of the event table, for status and the API."""
        with self._reader() as conn:
            row = conn.execute(sa.select(
                sa.func.count(EVENT.c.id), sa.func.min(EVENT.c.id),
                sa.func.max(EVENT.c.id),
                sa.func.min(EVENT.c.collector_timestamp),
                sa.func.max(EVENT.c.collector_timestamp))).one()
            by_type = dict(conn.execute(
                sa.select(EVENT.c.entity_type, sa.func.count(EVENT.c.id))
                .group_by(EVENT.c.entity_type)).all())
        return {'count': row[0], 'min_id': row[1], 'max_id': row[2],
                'oldest': row[3], 'newest': row[4], 'by_entity_type': by_type}

    def max_event_id(self) -> int:
        with self._reader() as conn:
            return conn.execute(
                sa.select(sa.func.max(EVENT.c.id))).scalar() or 0

    # -- quarantine --------------------------------------------------------

    def quarantine_summary(self) -> dict[str, int]:
        with self._reader() as conn:
            return dict(conn.execute(
                sa.select(QUARANTINE.c.reason, sa.func.count(QUARANTINE.c.id))
                .group_by(QUARANTINE.c.reason)).all())

    def quarantine_by_source(self) -> dict[str, int]:
        """Quarantine rows per stage: endpoint, dispatcher, dead_letter."""
        with self._reader() as conn:
            return dict(conn.execute(
                sa.select(QUARANTINE.c.source, sa.func.count(QUARANTINE.c.id))
                .group_by(QUARANTINE.c.source)).all())

    # -- agent reports ----------------------------------------------------

    def report_agent(self, agent: str, started_at: datetime.datetime,
                     counters: dict) -> None:
        """Overwrite this agent worker's row with its latest counters."""
        now = timeutils.utcnow()
        text = json.dumps(counters, sort_keys=True)
        with self._writer() as conn:
            result = conn.execute(sa.update(AGENT_REPORT).where(
                AGENT_REPORT.c.agent == agent).values(
                    reported_at=now, counters=text))
            if not result.rowcount:
                conn.execute(sa.insert(AGENT_REPORT).values(
                    agent=agent, started_at=records.utc_naive(started_at),
                    reported_at=now, counters=text))

    def agent_reports(self) -> list[dict]:
        """Every agent worker's latest report, newest first."""
        with self._reader() as conn:
            rows = conn.execute(sa.select(AGENT_REPORT).order_by(
                AGENT_REPORT.c.reported_at.desc())).mappings().all()
        reports = []
        for row in rows:
            report = dict(row)
            report.pop('id', None)
            report['counters'] = json.loads(report['counters'])
            reports.append(report)
        return reports

    @staticmethod
    def agent_name() -> str:
        """How this process names itself in ``agent_report``."""
        return '%s:%d' % (socket.gethostname(), os.getpid())

    def list_quarantine(self, limit: int = 100, after_id: int = 0,
                        source: str | None = None,
                        reason: str | None = None) -> list[dict]:
        """Quarantine rows after ``after_id``, of one source/reason."""
        query = sa.select(QUARANTINE).where(QUARANTINE.c.id > after_id)
        if source is not None:
            query = query.where(QUARANTINE.c.source == source)
        if reason is not None:
            query = query.where(QUARANTINE.c.reason == reason)
        with self._reader() as conn:
            rows = conn.execute(query.order_by(
                QUARANTINE.c.id).limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    # -- snapshots -------------------------------------------------------

    def save_snapshot(self, snapshot: records.Snapshot,
                      data: bytes | None = None) -> int:
        """Store a snapshot; ``data`` is its encoding, if already made."""
        now = timeutils.utcnow()
        row = {
            'created_at': now,
            'collector_timestamp': snapshot.covers.collector_timestamp,
            'last_publisher_id': snapshot.covers.publisher_id,
            'last_sequence': snapshot.covers.sequence,
            'last_event_id': snapshot.covers.id,
            'max_event_id': snapshot.max_event_id,
            'event_count': snapshot.event_count,
            'format_version': snapshot.format_version,
            'processor': snapshot.processor,
            'vertex_count': snapshot.vertex_count,
            'edge_count': snapshot.edge_count,
            'parent_id': snapshot.parent_id,
        }
        row['data'] = (data if data is not None
                       else snapshot_codec.encode(snapshot))
        row['data_bytes'] = len(row['data'])
        with self._writer() as conn:
            result = conn.execute(sa.insert(SNAPSHOT), row)
            return result.inserted_primary_key[0]

    def latest_snapshot(self, at_or_before: records.OrderKey | None = None,
                        at_or_before_time: datetime.datetime | None = None,
                        processor: str | None = None
                        ) -> records.Snapshot | None:
        """The newest snapshot that covers no event after the target."""
        key = sa.tuple_(*_SNAPSHOT_KEY)
        query = sa.select(SNAPSHOT).order_by(
            *(c.desc() for c in _SNAPSHOT_KEY)).limit(1)
        if at_or_before_time is not None:
            query = query.where(SNAPSHOT.c.collector_timestamp <=
                                records.utc_naive(at_or_before_time))
        if at_or_before is not None:
            query = query.where(key <= _key_literal(at_or_before))
        if processor is not None:
            query = query.where(SNAPSHOT.c.processor == processor)
        with self._reader() as conn:
            row = conn.execute(query).first()
        return snapshot_codec.decode_row(row) if row is not None else None

    def list_snapshots(self) -> list[dict]:
        """Snapshot metadata, oldest first, without the graph data.

        ``data_bytes`` is the size of the stored (compressed) data, None
        for a snapshot stored before that was recorded.
        """
        columns = [c for c in SNAPSHOT.c if c.name != 'data']
        with self._reader() as conn:
            rows = conn.execute(sa.select(*columns).order_by(
                SNAPSHOT.c.collector_timestamp, SNAPSHOT.c.id)).mappings()
            return [dict(r) for r in rows]

    def snapshot_signature(self) -> tuple:
        """``(rows, largest id, newest created_at)`` of the snapshots.

        Rows are inserted and deleted, never updated: while this stays
        the same, so does :meth:`list_snapshots`. (A deleted newest row
        whose id SQLite gives again to the next one still changes the
        newest ``created_at``.)
        """
        with self._reader() as conn:
            return tuple(conn.execute(sa.select(
                sa.func.count(SNAPSHOT.c.id), sa.func.max(SNAPSHOT.c.id),
                sa.func.max(SNAPSHOT.c.created_at))).one())

    # -- replay and retention (additive) -----------------------------------

    def count_events(self, after: records.OrderKey | None = None,
                     until_time: datetime.datetime | None = None,
                     until: records.OrderKey | None = None,
                     until_id: int | None = None) -> int:
        """How many events :meth:`iter_events` would yield (progress)."""
        query = sa.select(sa.func.count(EVENT.c.id))
        order = sa.tuple_(*_ORDER_COLUMNS)
        if after is not None:
            query = query.where(order > _key_literal(after))
        if until_time is not None:
            query = query.where(
                EVENT.c.collector_timestamp
                <= records.utc_naive(until_time))
        if until is not None:
            query = query.where(order <= _key_literal(until))
        if until_id is not None:
            query = query.where(EVENT.c.id <= until_id)
        with self._reader() as conn:
            return conn.execute(query).scalar() or 0

    def first_event(self) -> records.StoredEvent | None:
        """The first event in replay order, or None on an empty table."""
        return next(iter(self.iter_events(page_size=1)), None)

    def first_order_key(self) -> records.OrderKey | None:
        """The first event's order key (its payload not read), or None."""
        query = sa.select(*_ORDER_COLUMNS).order_by(
            *_ORDER_COLUMNS).limit(1)
        with self._reader() as conn:
            row = conn.execute(query).first()
        return records.OrderKey(*row) if row is not None else None

    def count_late_events(self, covers: records.OrderKey,
                          max_event_id: int) -> int:
        """Events a snapshot should hold but could not have seen.

        They were stored after the snapshot was taken (id above its
        ``max_event_id``) with an order key at or before what it covers:
        late arrivals, which make that snapshot unusable.
        """
        return self.late_events(covers, max_event_id)[0]

    def late_events(self, covers: records.OrderKey, after_id: int
                    ) -> tuple[int, int]:
        """``(late events with an id above after_id, largest id seen)``.

        A late event has both an id above ``after_id`` and an order key
        at or before ``covers``; either condition alone can match most of
        the history. ``event_block`` names the few id blocks where such
        an event can be (see ``storage.event_blocks``), and only their
        rows are read. When there are too many of those, the query walks
        the smaller side: the primary key from ``after_id`` when fewer
        events came after it than before it, else the replay-order index
        up to ``covers``. The largest id lets a caller check again later
        from there only.
        """
        with self._reader() as conn:
            # two subqueries: SQLite reads one end of the primary key for
            # each, but scans the table for min() and max() side by side
            low, high = conn.execute(sa.select(
                sa.select(sa.func.min(EVENT.c.id)).scalar_subquery(),
                sa.select(sa.func.max(EVENT.c.id)).scalar_subquery())).one()
            if high is None or high <= after_id:
                return 0, max(high or 0, after_id)
            blocks = event_blocks.candidates(
                conn, records.utc_naive(covers.collector_timestamp),
                after_id)
            if blocks is not None and not event_blocks.noted(conn, high):
                # the newest event was stored without its block: an agent
                # of an older release still writes (see event_blocks)
                if not self._unnoted_told:
                    self._unnoted_told = True
                    LOG.warning('event %d was stored without its '
                                'event_block row: an agent older than '
                                'this release is running? Late events '
                                'are looked for the slow way meanwhile',
                                high)
                blocks = None
            if blocks is not None:
                ranges = event_blocks.id_ranges(blocks, after_id, high)
            elif high - after_id <= after_id - (low or 0):
                ranges = [(after_id + 1, high)]
            else:
                return conn.execute(sa.select(
                    sa.func.count(EVENT.c.id)).where(
                    EVENT.c.id > after_id, EVENT.c.id <= high,
                    sa.tuple_(*_ORDER_COLUMNS) <= _key_literal(covers))
                ).scalar() or 0, high
            return sum(self._count_at_or_before(conn, covers, first, last)
                       for first, last in ranges), high

    @staticmethod
    def _count_at_or_before(conn, covers: records.OrderKey, first: int,
                            last: int) -> int:
        """Events with an id in ``[first, last]`` and a key <= ``covers``.

        The ids are read in id order, with a LIMIT, so that the planner
        walks the primary key over the range, never the replay-order
        index (which the key condition alone would pick).
        """
        ids = sa.select(*_ORDER_COLUMNS).where(
            EVENT.c.id >= first, EVENT.c.id <= last).order_by(
            EVENT.c.id).limit(last - first + 1).subquery()
        return conn.execute(sa.select(sa.func.count()).select_from(
            ids).where(sa.tuple_(*ids.c) <= _key_literal(covers))
        ).scalar() or 0

    def get_events_by_ids(self, ids: Sequence[int]
                          ) -> list[records.StoredEvent]:
        ids = list(ids)
        found = []
        with self._reader() as conn:
            for start in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(sa.select(EVENT).where(
                    EVENT.c.id.in_(ids[start:start + _IN_CHUNK])))
                found += [_stored_event(r) for r in rows]
        return sorted(found, key=lambda e: e.id)

    def get_snapshot(self, snapshot_id: int) -> records.Snapshot | None:
        with self._reader() as conn:
            row = conn.execute(sa.select(SNAPSHOT).where(
                SNAPSHOT.c.id == snapshot_id)).first()
        return snapshot_codec.decode_row(row) if row is not None else None

    def get_snapshots(self, ids: Sequence[int]) -> list[records.Snapshot]:
        """The snapshots of ``ids``, in that order (one query).

        Missing ones are left out: a caller loading a chain checks it.
        """
        if not ids:
            return []
        with self._reader() as conn:
            rows = conn.execute(sa.select(SNAPSHOT).where(
                SNAPSHOT.c.id.in_(list(ids)))).all()
        found = {row.id: row for row in rows}
        return [snapshot_codec.decode_row(found[i]) for i in ids
                if i in found]

    def delete_events_covered(self, covers: records.OrderKey,
                              max_event_id: int) -> int:
        """Delete the events a snapshot holds.

        Those have a key at or before ``covers`` and an id at most
        ``max_event_id``; late arrivals are kept.
        """
        order = sa.tuple_(*_ORDER_COLUMNS)
        with self._writer() as conn:
            result = conn.execute(sa.delete(EVENT).where(
                EVENT.c.id <= max_event_id, order <= _key_literal(covers)))
            first = conn.execute(sa.select(sa.func.min(EVENT.c.id))).scalar()
            if first is not None:
                event_blocks.forget_below(conn, first)
            return max(result.rowcount, 0)

    def delete_snapshots(self, ids: Sequence[int]) -> int:
        if not ids:
            return 0
        with self._writer() as conn:
            result = conn.execute(sa.delete(SNAPSHOT).where(
                SNAPSHOT.c.id.in_(list(ids))))
            return max(result.rowcount, 0)
