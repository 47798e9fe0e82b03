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

"""Publish events the way Vitrage's hooks do, for the agent to store.

The tests then read them back through the API, so a pass means the whole
deployed path works: broker, agent, database and API.
"""

import datetime
import uuid

from vitrage_persistor import service
from vitrage_persistor.publish import publisher as publisher_mod


def publish(transport_url: str, topic: str, events: list[dict]) -> None:
    conf = service.make_conf()
    conf([], project='vitrage-persistor')
    conf.set_override('transport_url', transport_url,
                      group='persistor_hooks')
    conf.set_override('topic', topic, group='persistor')
    # a tempest worker is a plain process: no sender subprocess
    conf.set_override('sender', 'thread', group='persistor_hooks')
    publisher = publisher_mod.Publisher(conf, 'driver',
                                        register_atexit=False)
    try:
        for event in events:
            if not publisher.publish(event):
                raise RuntimeError('the publisher refused %r' % event)
        if not publisher.flush(30):
            raise RuntimeError('events not sent within 30 s')
    finally:
        publisher.stop(5)


def host_event(entity_type: str, project_id: str | None = None) -> dict:
    """A driver event with a unique name, of a type no other test uses."""
    event = {'vitrage_entity_type': entity_type,
             'vitrage_datasource_action': 'snapshot',
             'vitrage_sample_date': datetime.datetime.now(
                 datetime.UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ'),
             'name': 'tempest-%s' % uuid.uuid4().hex,
             'id': uuid.uuid4().hex}
    if project_id is not None:
        event['project_id'] = project_id
    return event
