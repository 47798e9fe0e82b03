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

"""REST client of the vitrage-persistor API for tempest."""

import json
import urllib.parse

from tempest.lib.common import rest_client


class StaticAuthProvider:
    """An auth provider for ``auth_strategy = noauth``: no token at all.

    It gives RestClient the fixed endpoint and adds no headers, so the
    tests need no credentials (``credentials = []``). In keystone mode
    the tests use it to call without a token, or with a given (bogus)
    one.
    """

    credentials = None

    def __init__(self, endpoint: str, token: str | None = None):
        self.endpoint = endpoint.rstrip('/')
        self.token = token

    def base_url(self, filters, auth_data=None):
        return self.endpoint

    def get_token(self):
        return None

    def auth_request(self, method, url, headers=None, body=None,
                     filters=None):
        headers = dict(headers or {})
        if self.token is not None:
            headers['X-Auth-Token'] = self.token
        return self.endpoint + '/' + url.lstrip('/'), headers, body


class PersistorClient(rest_client.RestClient):

    def _get_json(self, url):
        resp, body = self.get(url)
        self.expected_success(200, resp.status)
        return rest_client.ResponseBody(resp, json.loads(body))

    def versions(self):
        return self._get_json('/')

    def status(self):
        return self._get_json('v1/status')

    def list_events(self, **params):
        query = urllib.parse.urlencode(sorted(params.items()))
        return self._get_json('v1/events' + ('?' + query if query else ''))

    def show_event(self, event_id):
        return self._get_json('v1/events/%s' % event_id)

    def list_quarantine(self):
        return self._get_json('v1/quarantine')
