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

"""Tempest options of the plugin."""

from oslo_config import cfg

service_option = cfg.BoolOpt(
    'vitrage_persistor', default=False,
    help='Whether the vitrage-persistor API is deployed and should be '
         'tested.')

GROUP = cfg.OptGroup(name='vitrage_persistor',
                     title='vitrage-persistor API options')

OPTS = [
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=['keystone', 'noauth'],
               help='The [api] auth_strategy of the deployed API. With '
                    'noauth the tests use no credentials and "endpoint".'),
    cfg.StrOpt('endpoint', default='http://127.0.0.1:8998',
               help='API endpoint for noauth; with keystone the catalog '
                    'entry of "catalog_type" is used.'),
    cfg.StrOpt('catalog_type', default='rca-history',
               help='Service type of the API in the keystone catalog.'),
    cfg.StrOpt('endpoint_type', default='publicURL',
               help='Catalog endpoint type.'),
    cfg.StrOpt('transport_url', secret=True,
               help='oslo.messaging URL of the broker the deployed agent '
                    'consumes. The tests publish their own events there '
                    'and check that the API serves them back, payload and '
                    'all. Unset, those tests are skipped.'),
    cfg.StrOpt('topic', default='vitrage_persistor',
               help='[persistor] topic of the deployed agent.'),
    cfg.IntOpt('store_timeout', default=60,
               help='Seconds to wait for a published event to be served.'),
    cfg.StrOpt('no_access_role', default='vp_observer',
               help='A role that exists in Keystone and that the API\'s '
                    'policy grants nothing: a user with only this role '
                    'must get 403. It must exist (the tests do not create '
                    'roles).'),
]
