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

"""The agent's oslo.service Service: one batch listener per process.

The service object is built in the launcher process and forked into
``[persistor] workers`` children; the transport, the database engine and
the listener are created in :meth:`start`, in the child, because sockets
and connection pools must never cross a fork.
"""

import threading

import oslo_messaging
from oslo_config import cfg
from oslo_log import log
from oslo_service import service
from oslo_utils import timeutils

from vitrage_persistor.persistor import dead_letter
from vitrage_persistor.persistor import endpoint as endpoint_mod
from vitrage_persistor.persistor import listener as listener_mod
from vitrage_persistor.persistor import stats as stats_mod
from vitrage_persistor.persistor import transport as transport_mod
from vitrage_persistor.storage import api as storage_api

LOG = log.getLogger(__name__)


class PersistorService(service.ServiceBase):

    def __init__(self, conf: cfg.ConfigOpts,
                 transport: oslo_messaging.Transport | None = None):
        """Keep ``conf``; ``transport`` is for sharing one.

        A ``fake://`` transport must be shared with a publisher in the same
        process; by default start() builds its own.
        """
        super().__init__()
        self.conf = conf
        self._given_transport = transport
        self.listener = None
        self.store = None
        self.transport = None
        self.stats = None
        self._reporter = None
        self._drain = None
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    def start(self) -> None:
        conf = self.conf
        prefetch = None
        if self._given_transport is not None:
            self.transport = self._given_transport
        else:
            prefetch = transport_mod.apply_prefetch(conf)
            self.transport = transport_mod.get_transport(conf)
        listener_mod.check_library()
        # Before the listener exists: its duplicate cache is sized then.
        listener_mod.disable_duplicate_cache()
        self.store = storage_api.Store.from_conf(conf)
        self.stats = stats_mod.Stats()
        started_at = timeutils.utcnow()
        agent_name = self.store.agent_name()
        self._reporter = stats_mod.Reporter(
            self.stats, conf.persistor.stats_interval,
            publish=lambda counters: self.store.report_agent(
                agent_name, started_at, counters))
        backoff = endpoint_mod.Backoff(conf.persistor.requeue_backoff_max,
                                       conf.persistor.requeue_backoff_initial,
                                       stop_event=self._stopping)
        endpoint = endpoint_mod.PersistorEndpoint(
            self.store, self.stats, conf.persistor.max_payload_bytes,
            backoff)
        if self._given_transport is None and not \
                transport_mod.wait_for_broker(conf, self._stopping):
            return  # stopped while the broker was down
        target = oslo_messaging.Target(topic=conf.persistor.topic)
        self.listener = listener_mod.build(
            self.transport, [target], [endpoint],
            quarantine=lambda rows: endpoint.store_quarantine(
                rows, 'dispatcher'),
            pool=conf.persistor.pool or None,
            batch_size=conf.persistor.batch_size,
            batch_timeout=conf.persistor.batch_timeout)
        self.listener.start()
        self._reporter.start()
        if self._given_transport is None and \
                dead_letter.DeadLetterDrain.enabled(conf):
            self._drain = dead_letter.DeadLetterDrain(
                conf, endpoint.store_quarantine, self._stopping)
            self._drain.start()
        LOG.info('persistor agent consuming queue %s (topic %s, priority '
                 'sample), batch_size %d, batch_timeout %.2fs, prefetch %s',
                 transport_mod.queue_name(conf), conf.persistor.topic,
                 conf.persistor.batch_size, conf.persistor.batch_timeout,
                 'unlimited' if prefetch == 0 else prefetch)

    def stop(self, graceful: bool = False) -> None:
        """Stop consuming, let the batch in flight commit, then clean up."""
        self._stopping.set()
        try:
            if self.listener is not None:
                self.listener.stop()
                self.listener.wait()
            if self._drain is not None:
                self._drain.stop()
            if self._reporter is not None:
                self._reporter.stop()
                self._reporter.report()
            if self.store is not None:
                self.store.dispose()
            if self.transport is not None and not self._given_transport:
                self.transport.cleanup()
        finally:
            self._stopped.set()
        LOG.info('persistor agent stopped')

    def wait(self) -> None:
        self._stopped.wait()

    def reset(self) -> None:
        pass
