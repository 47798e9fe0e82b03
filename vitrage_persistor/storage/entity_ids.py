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

"""Which entity an event is about, for the entity-history index.

The store keeps it in ``event.entity_id`` (indexed with the id), so "every
event that touched host-3" is an index range scan, not a table scan. The
agent fills it without Vitrage installed, so it is read from the payload
under the names Vitrage 15.0.1's transformers build entity keys from:

* a **resource** event names the resource's own id: ``host`` (nova.host),
  ``zoneName`` (nova.zone), ``id``/``instance_id`` (nova.instance),
  ``id``/``volume_id`` (cinder.volume), ``id``/``network_id``/``port_id``
  (neutron), ``id``/``stack_identity`` (heat.stack), ``id`` (static and
  any other resource);
* an **alarm** event names the resource it is raised on, so an entity's
  history with its alarms is one lookup: ``resource_id`` (aodh,
  prometheus...), ``resource_name`` (nagios, zabbix), ``details.hostname``
  (doctor);
* an event of Vitrage's **evaluator** (``vitrage``) names the vitrage_id
  of its target: ``target`` (the resource of a deduced alarm, the target
  alarm of a causal edge) or ``vitrage_id`` (the vertex whose state or
  mark ``set_state`` and ``mark_down`` change).

None when nothing usable is there (at most 255 characters, no NUL).
"""

from typing import Any

MAX_ENTITY_ID_LEN = 255

_RESOURCE_KEYS = {
    'nova.host': ('host',),
    'nova.zone': ('zoneName',),
    'nova.instance': ('id', 'instance_id'),
    'cinder.volume': ('id', 'volume_id'),
    'neutron.network': ('id', 'network_id'),
    'neutron.port': ('id', 'port_id'),
    'heat.stack': ('id', 'stack_identity'),
}
_ALARM_KEYS = {
    'nagios': ('resource_name',),
    'zabbix': ('resource_name',),
    'doctor': ('details.hostname',),
    'vitrage': ('target', 'vitrage_id'),
}
_ALARM_DEFAULT = ('resource_id',)
_ALARM_TYPES = ('aodh', 'prometheus', 'kapacitor', 'monasca', 'collectd',
                'trove.alarm')
_DEFAULT = ('id',)
# Event types whose entity_id is the resource an alarm is on, not their own.
ALARM_ENTITY_TYPES = tuple(sorted(set(_ALARM_KEYS) | set(_ALARM_TYPES)))


def from_key(key: str) -> str:
    """``RESOURCE:<type>:<id>`` (a Vitrage entity key) -> ``<id>``.

    Anything else is taken as the entity id itself.
    """
    parts = key.split(':', 2)
    if len(parts) == 3 and parts[0] == 'RESOURCE' and parts[2]:
        return parts[2]
    return key


def _usable(value: Any) -> bool:
    return (isinstance(value, str) and value.strip() != ''
            and len(value) <= MAX_ENTITY_ID_LEN and '\x00' not in value)


def _get(event: dict, path: str):
    value: Any = event
    for part in path.split('.'):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def keys_for(entity_type: str) -> tuple[str, ...]:
    """The payload keys (dotted paths) tried for this entity type."""
    if entity_type in _RESOURCE_KEYS:
        return _RESOURCE_KEYS[entity_type]
    if entity_type in _ALARM_KEYS:
        return _ALARM_KEYS[entity_type]
    if entity_type in _ALARM_TYPES:
        return _ALARM_DEFAULT
    return _DEFAULT


def entity_id_of(event: Any) -> str | None:
    """The entity an event is about (see the module doc), or None."""
    if not isinstance(event, dict):
        return None
    for path in keys_for(str(event.get('vitrage_entity_type'))):
        value = _get(event, path)
        if _usable(value):
            return value
    return None
