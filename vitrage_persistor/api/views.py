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

"""JSON shapes of what the API returns."""

import datetime

from vitrage_persistor import wire
from vitrage_persistor.storage import records


def timestamp(value: datetime.datetime | None) -> str | None:
    return wire.format_timestamp(value) if value is not None else None


def event(item: records.StoredEvent) -> dict:
    return {
        'id': item.id,
        'message_id': item.message_id,
        'collector_timestamp': timestamp(item.collector_timestamp),
        'publisher_id': item.publisher_id,
        'sequence': item.sequence,
        'event_type': item.event_type,
        'entity_type': item.entity_type,
        'datasource_action': item.datasource_action,
        'project_id': item.project_id,
        'entity_id': item.entity_id,
        'payload': item.payload,
    }


def quarantined(row: dict) -> dict:
    out = dict(row)
    out['received_at'] = timestamp(out.get('received_at'))
    return out


def status(counts: dict, quarantine: dict, snapshots: list,
           by_source: dict | None = None,
           agent_reports: list | None = None) -> dict:
    """The status document.

    ``counters`` holds what operators watch for poison messages: the
    quarantine's totals (dead-lettered, conflicting duplicates) come from
    the table and survive restarts; ``redeliveries`` is the sum of the
    agent workers' own counts since each started (``agents``).
    """
    by_source = by_source or {}
    agent_reports = agent_reports or []
    totals: dict = {}
    agents = []
    for report in agent_reports:
        worker = report['counters'].get('totals', {})
        for key, value in worker.items():
            totals[key] = totals.get(key, 0) + value
        agents.append({'agent': report['agent'],
                       'started_at': timestamp(report['started_at']),
                       'reported_at': timestamp(report['reported_at']),
                       'totals': worker})
    return {
        'events': {
            'count': counts['count'],
            'min_id': counts['min_id'],
            'max_id': counts['max_id'],
            'oldest': timestamp(counts['oldest']),
            'newest': timestamp(counts['newest']),
            'by_entity_type': counts['by_entity_type'],
        },
        'quarantine': quarantine,
        'quarantine_by_source': by_source,
        'counters': {
            'quarantined': sum(quarantine.values()),
            'dead_lettered': by_source.get('dead_letter', 0),
            'conflicting_duplicates': quarantine.get(
                'conflicting_duplicate', 0),
            'redeliveries': totals.get('duplicates', 0),
        },
        'agents': agents,
        'snapshots': len(snapshots),
    }


def version(application_url: str) -> dict:
    """The v1 version document, with links that resolve on this server."""
    base = application_url.rstrip('/')
    return {
        'id': 'v1',
        'status': 'CURRENT',
        'links': [
            {'rel': 'self', 'href': base + '/v1'},
            {'rel': 'describedby', 'type': 'application/json',
             'href': base + '/v1/openapi.json'},
        ],
    }
