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

"""Event rows for the store's tests and the API's."""

import datetime
import uuid

from vitrage_persistor.storage import records, tenancy

T0 = datetime.datetime(2026, 11, 21, 3, 12, 0, 123456)


def make_event(i, payload=None, ts=None, publisher='host-a', seq=None,
               entity_type='nova.host', message_id=None):
    payload = payload if payload is not None else {
        'name': 'host-%d' % i, 'vitrage_entity_type': entity_type,
        'vitrage_datasource_action': 'update'}
    return records.EventRecord(
        message_id=message_id or str(uuid.uuid4()),
        collector_timestamp=ts or T0 + datetime.timedelta(seconds=i),
        event_type='vitrage.persistor.event', entity_type=entity_type,
        payload_json=records.encode_payload(payload),
        publisher_id=publisher, sequence=i if seq is None else seq,
        datasource_action='update', project_id=tenancy.project_of(payload))
