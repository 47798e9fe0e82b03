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

"""Everything that runs inside vitrage-graph.

``vitrage-persistor-graph`` installs the :mod:`hooks`; each hook point
gets a :class:`~vitrage_persistor.publish.publisher.Publisher`, which
stamps and queues events (:mod:`queue`) and has them sent, as messages of
the :mod:`vitrage_persistor.wire` format, by threads (:mod:`senders`) or
by a sender process (:mod:`process`, running :mod:`child`).
:mod:`messaging` owns the oslo.messaging set-up.

Nothing here is imported by the agent, the store, replay or the API; the
only module both sides share is :mod:`vitrage_persistor.wire`. See
``doc/source/architecture.rst``.
"""
