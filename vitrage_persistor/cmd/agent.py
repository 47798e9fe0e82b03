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

"""``vitrage-persistor-agent``: the listener service.

Not called ``vitrage-persistor``: Vitrage 15.0.1 installs a console script
of that name (its own alarm-history persistor) and both must install side
by side.
"""

import sys

from oslo_log import log
from oslo_service import service as os_service

from vitrage_persistor import service
from vitrage_persistor.persistor import listener, transport
from vitrage_persistor.persistor import service as persistor_service

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    conf = service.make_conf()
    transport.set_defaults(conf)
    conf = service.prepare_service(
        sys.argv[1:] if argv is None else argv, conf=conf)
    try:
        listener.check_library()
        transport.check_queue(conf)
    except (listener.LibraryChanged, transport.QueueMismatch) as exc:
        LOG.error('%s', exc)
        return 2
    launcher = os_service.launch(
        conf, persistor_service.PersistorService(conf),
        workers=conf.persistor.workers, restart_method='mutate')
    return launcher.wait() or 0


if __name__ == '__main__':
    sys.exit(main())
