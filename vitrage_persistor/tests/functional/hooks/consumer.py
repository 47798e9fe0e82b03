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

"""Helpers for the hook tests: a batch listener on the publisher's queue."""

import threading
import time

import oslo_messaging

from vitrage_persistor import wire


def unbundle(msg: dict) -> list:
    """One message per event, as the agent reads a bundle.

    Each is the notification with the event's ``message_id`` and its
    :class:`wire.Envelope` under ``envelope``.
    """
    items = wire.bundle_items(msg['payload'])
    if items is None:
        return [dict(msg, envelope=wire.unwrap(msg['payload']))]
    return [dict(msg, envelope=wire.unwrap_item(item), metadata=dict(
        msg['metadata'], message_id=item['message_id'])) for item in items]


class Collected:
    """A batch listener on ``<topic>.sample``, the publisher's queue."""

    def __init__(self, conf, url: str):
        self.messages = []        # one per event: bundles are split
        self.notifications = 0    # as the broker delivered them
        self._lock = threading.Lock()
        transport = oslo_messaging.get_notification_transport(conf, url=url)
        self.transport = transport
        self.listener = oslo_messaging.get_batch_notification_listener(
            transport, [oslo_messaging.Target(topic=conf.persistor.topic)],
            [self], batch_size=500, batch_timeout=0.2)

    def sample(self, messages):
        events = [event for msg in messages for event in unbundle(msg)]
        with self._lock:
            self.notifications += len(messages)
            self.messages.extend(events)

    def start(self):
        self.listener.start()
        return self

    def stop(self):
        self.listener.stop()
        self.listener.wait()
        self.transport.cleanup()

    def wait_for(self, count: int, timeout: float = 60) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    break
            time.sleep(0.1)
        time.sleep(0.5)  # anything beyond count would be a duplicate
        with self._lock:
            return list(self.messages)

    def events(self):
        """``[(publisher_id, sequence, event_type, event)]`` by sequence.

        The live ids the collector hook adds are split off: the event is
        what the processor received.
        """
        out = []
        for msg in self.messages:
            event, stamp, sequence, _enveloped = msg['envelope']
            if stamp is None:
                raise AssertionError('no hook stamp: %r' % (msg,))
            event, _ids = wire.split_live_ids(event)
            out.append((msg['publisher_id'], sequence, msg['event_type'],
                        event))
        return sorted(out, key=lambda item: (item[0], item[1]))
