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

"""Which project an event belongs to, the way Vitrage's transformers see it.

Vitrage scopes its API by the ``project_id`` of each vertex, and its
datasource transformers read that project from the driver's event under a
handful of names. The store keeps the same value in the event's
``project_id`` column, so the API can scope a listing in SQL:

* ``project_id`` (aodh alarms, and any event built from a vertex);
* ``tenant_id`` (nova instances, neutron networks and ports, cinder volume
  notifications, heat stacks, trove instances);
* ``os-vol-tenant-attr:tenant_id`` (cinder volumes, as polled);
* ``nova_object.data`` → ``tenant_id`` (nova's versioned notifications).

The first non-empty string wins. Events without one (hosts, zones,
switches, nagios and doctor alarms, the evaluator's deduced alarms) belong
to no project; only an admin sees them, as in Vitrage.
"""

from typing import Any

# Keystone project ids are 32 hex digits; names up to 64 characters.
MAX_PROJECT_LEN = 64

_TOP_LEVEL_KEYS = ('project_id', 'tenant_id', 'os-vol-tenant-attr:tenant_id')
_NESTED_KEYS = (('nova_object.data', 'tenant_id'),)


def _usable(value: Any) -> bool:
    return (isinstance(value, str) and value.strip() != ''
            and len(value) <= MAX_PROJECT_LEN and '\x00' not in value)


def project_of(event: Any) -> str | None:
    """The project an event belongs to, or None for no project."""
    if not isinstance(event, dict):
        return None
    for key in _TOP_LEVEL_KEYS:
        if _usable(event.get(key)):
            return event[key]
    for outer, inner in _NESTED_KEYS:
        nested = event.get(outer)
        if isinstance(nested, dict) and _usable(nested.get(inner)):
            return nested[inner]
    return None
