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

"""Choose oslo.service's threading backend: the project never uses eventlet.

:func:`use_threading` must run before anything imports oslo.service's
components (oslo.messaging, Vitrage): the first ``get_backend()`` call
would otherwise fix the eventlet default for the whole process. The
console scripts call it from ``vitrage_persistor.cmd``; the test suite,
the demo and the benchmarks call it themselves, first.
"""

import warnings


def use_threading() -> None:
    """Select the threading backend; a no-op if it is already selected."""
    # Vitrage (an optional extra) installs eventlet; futurist then imports
    # it and warns on every command. We never use it.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    from oslo_service import backend

    backend.init_backend(backend.BackendType.THREADING)
