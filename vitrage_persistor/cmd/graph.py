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

"""``vitrage-persistor-graph``: vitrage-graph with the persistor hooks.

It takes exactly the arguments of ``vitrage-graph`` (``--config-file
/etc/vitrage/vitrage.conf`` ...), reads ``[persistor_hooks]``,
``[persistor] topic`` and the transport from the same files into a private
ConfigOpts, installs the hooks (and, with ``restore`` or
``vitrage_persistence = false``, the start from the persistor's store,
:mod:`vitrage_persistor.publish.hooks.restore`), and then runs Vitrage's
own, unmodified ``vitrage.cli.graph.main``. Swapping the command in the
service unit is the only deployment change; no Vitrage file is edited.
"""

import sys

from vitrage_persistor import service


def main() -> int | None:
    conf = service.make_conf()
    # Same files and defaults as vitrage-graph (project "vitrage").
    conf(sys.argv[1:], project='vitrage')

    from vitrage.cli import graph as vitrage_graph  # the [vitrage] extra

    from vitrage_persistor.publish.hooks import install, restore

    install.install(conf)
    restore.Restore(conf).install()
    return vitrage_graph.main()


if __name__ == '__main__':
    sys.exit(main())
