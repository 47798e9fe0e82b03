"""Helpers for the hook tests: a batch listener and a broker on/off switch.
"""

import socket
import threading
import time

import oslo_messaging

from vitrage_persistor import envelope


class Collected:
    """A batch listener on ``<topic>.sample``, the notifier's queue."""

    def __init__(self, conf, url: str):
        self.messages = []
        self._lock = threading.Lock()
        transport = oslo_messaging.get_notification_transport(conf, url=url)
        self.transport = transport
        self.listener = oslo_messaging.get_batch_notification_listener(
            transport, [oslo_messaging.Target(topic=conf.persistor.topic)],
            [self], batch_size=500, batch_timeout=0.2)

    def sample(self, messages):
        with self._lock:
            self.messages.extend(messages)

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
            event, stamp, sequence = envelope.unwrap(msg['payload'])
            assert stamp is not None
            event, _ids = envelope.split_live_ids(event)
            out.append((msg['publisher_id'], sequence, msg['event_type'],
                        event))
        return sorted(out, key=lambda item: (item[0], item[1]))


class BrokerSwitch:
    """A TCP forwarder to RabbitMQ that can be switched off and on.

    While off nothing listens on its port (connection refused), exactly
    what a publisher sees when the broker is down.
    """

    def __init__(self, target_port: int = 5672):
        self.target = ('127.0.0.1', target_port)
        probe = socket.socket()
        probe.bind(('127.0.0.1', 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server = None
        self._conns = []

    def on(self):
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('127.0.0.1', self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, args=(server,),
                         daemon=True).start()

    def off(self):
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass
        self._conns = []

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
