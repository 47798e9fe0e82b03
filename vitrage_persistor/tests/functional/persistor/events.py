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

"""Realistic enriched events for tests and the benchmark.

The templates come from Vitrage's own mock drivers
(``vitrage.tests.mocks.mock_driver``): nova zones, hosts and instances as
``DriverBase.make_pickleable`` leaves them. Mixed so that the average
JSON size is about 1 KB, like a real deployment's stream.
"""

import copy
import datetime
import json
import warnings


def _templates():
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    from vitrage.tests.mocks import mock_driver as md

    pool = []
    pool += md.generate_sequential_events_list(
        md.simple_zone_generators(2, 4, 4))
    pool += md.generate_sequential_events_list(
        md.simple_host_generators(2, 6, 6))
    instances = md.generate_sequential_events_list(
        md.simple_instance_generators(2, 4, 1))
    pool += instances[:3]
    # JSON round trip: what a driver's event looks like after the wire.
    return [json.loads(json.dumps(e, default=str)) for e in pool]


_POOL = None


def pool() -> list[dict]:
    global _POOL
    if _POOL is None:
        _POOL = _templates()
    return _POOL


def make_event(index: int) -> dict:
    """Event number ``index``: a template, stamped now, tagged with index."""
    templates = pool()
    event = copy.deepcopy(templates[index % len(templates)])
    event['vitrage_sample_date'] = datetime.datetime.now(
        datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')
    event['vp_test_index'] = index
    return event


def average_size() -> float:
    sizes = [len(json.dumps(make_event(i))) for i in range(len(pool()))]
    return sum(sizes) / len(sizes)
