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

"""The ``event_block`` table: where late events can be, cheaply.

A snapshot is undermined by a *late* event: one with an id above the
snapshot's ``max_event_id`` and an order key at or before what it covers.
Each condition alone matches up to the whole history. ``event_block``
keeps, per block of :data:`models.EVENT_BLOCK_IDS` ids and per writer,
the earliest collector time of the events stored there; a late event can
only be in a block whose earliest time is at or before the snapshot's.
In a history stored in order those are the one or two blocks right after
``max_event_id``, so the check reads a few hundred rows of the event
table whatever the history's length.

The rows are written in the same transaction as the events (:func:`note`)
and only ever lowered, so every committed event is covered: the check
sees exactly the events it would have found by walking an index. Each
writer has its own rows, so concurrent agent workers (or Galera nodes)
never update the same row.
"""

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from vitrage_persistor.storage import models

BLOCK_IDS = models.EVENT_BLOCK_IDS
EVENT_BLOCK = models.EventBlock.__table__
# Past this many candidate blocks (a history with many late events spread
# over it) the caller walks an event index instead.
MAX_CANDIDATES = 64


def _upsert(dialect_name: str):
    """INSERT that lowers an existing row's earliest time instead."""
    column = EVENT_BLOCK.c.min_collector_timestamp
    if dialect_name in ('postgresql', 'sqlite'):
        dialect = postgresql if dialect_name == 'postgresql' else sqlite
        # SQLite's two-argument min() is the scalar one
        lower = sa.func.least if dialect is postgresql else sa.func.min
        insert = dialect.insert(EVENT_BLOCK)
        return insert.on_conflict_do_update(
            index_elements=['block', 'writer'],
            set_={column.name: lower(
                column, insert.excluded.min_collector_timestamp)})
    if dialect_name in ('mysql', 'mariadb'):
        insert = mysql.insert(EVENT_BLOCK)
        return insert.on_duplicate_key_update(
            {column.name: sa.func.least(
                column, insert.inserted.min_collector_timestamp)})
    raise NotImplementedError(
        'unsupported database dialect %r' % dialect_name)


def earliest_per_block(rows: Iterable) -> dict:
    """``{block: earliest collector time}`` of ``(id, time)`` rows."""
    earliest: dict = {}
    for event_id, when in rows:
        block = event_id // BLOCK_IDS
        if block not in earliest or when < earliest[block]:
            earliest[block] = when
    return earliest


def note(conn, writer: str, rows: Iterable) -> None:
    """Fold stored events, ``(id, collector time)`` rows, into the table.

    Call it in the transaction that stored them. Blocks are written in
    ascending order, so two transactions of one writer take the row
    locks in the same order.
    """
    earliest = earliest_per_block(rows)
    if not earliest:
        return
    conn.execute(_upsert(conn.dialect.name), [
        {'block': block, 'writer': writer,
         'min_collector_timestamp': when}
        for block, when in sorted(earliest.items())])


def candidates(conn, at_or_before, after_id: int) -> list[int] | None:
    """Blocks above ``after_id`` that may hold an event at or before a time.

    Sorted; None when there are more than :data:`MAX_CANDIDATES`.
    """
    rows = conn.execute(
        sa.select(EVENT_BLOCK.c.block).distinct()
        .where(EVENT_BLOCK.c.block >= after_id // BLOCK_IDS,
               EVENT_BLOCK.c.min_collector_timestamp <= at_or_before)
        .order_by(EVENT_BLOCK.c.block).limit(MAX_CANDIDATES + 1)).all()
    if len(rows) > MAX_CANDIDATES:
        return None
    return [row.block for row in rows]


def noted(conn, event_id: int) -> bool:
    """Whether the block of ``event_id`` has a row (of any writer).

    A writer commits its rows with its events, so the block of a stored
    event has one, unless that event came from a writer that does not
    know this table (an agent of an older release, during an upgrade).
    """
    return conn.execute(sa.select(EVENT_BLOCK.c.block).where(
        EVENT_BLOCK.c.block == event_id // BLOCK_IDS).limit(1)
    ).first() is not None


def id_ranges(blocks: list[int], after_id: int, until_id: int
              ) -> list[tuple[int, int]]:
    """The ids of ``blocks`` in ``(after_id, until_id]``, as closed ranges.

    Adjacent blocks make one range.
    """
    ranges: list[list[int]] = []
    for block in blocks:
        low = max(block * BLOCK_IDS, after_id + 1)
        high = min((block + 1) * BLOCK_IDS - 1, until_id)
        if low > high:
            continue
        if ranges and ranges[-1][1] + 1 >= low:
            ranges[-1][1] = high
        else:
            ranges.append([low, high])
    return [(low, high) for low, high in ranges]


def forget_below(conn, event_id: int) -> int:
    """Delete the blocks entirely below ``event_id`` (events expired)."""
    result = conn.execute(sa.delete(EVENT_BLOCK).where(
        EVENT_BLOCK.c.block < event_id // BLOCK_IDS))
    return max(result.rowcount, 0)
