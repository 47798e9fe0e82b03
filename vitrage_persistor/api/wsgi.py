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

"""The API as a WSGI module: ``vitrage_persistor.api.wsgi:application``.

Point the WSGI server at it, e.g. ``uwsgi --module
vitrage_persistor.api.wsgi:application``. The configuration comes from
``OS_VITRAGE_PERSISTOR_CONFIG_FILES`` and ``OS_VITRAGE_PERSISTOR_CONFIG_DIR``
(see :func:`vitrage_persistor.cmd.api.config_files`); a bad one stops the
import, and so the server's start, with a message that says what is wrong.
"""

from vitrage_persistor.cmd import api

application = api.init_application()
