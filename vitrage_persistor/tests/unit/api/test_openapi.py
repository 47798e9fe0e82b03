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

"""The committed OpenAPI document describes exactly the routes served."""

import webob
import yaml

from vitrage_persistor.api import app as api_app
from vitrage_persistor.tests.unit.api import test_app


def _document():
    with open(api_app.OPENAPI_PATH, encoding='utf-8') as f:
        return yaml.safe_load(f)


class TestOpenAPI(test_app.APITestCase):

    def test_every_route_is_described_and_nothing_else(self):
        served = {r.template for r in api_app.ROUTES}
        served.add(api_app.HEALTHCHECK_PATH)
        self.assertEqual(served, set(_document()['paths']))

    def test_every_route_has_its_methods_and_documented_parameters(self):
        document = _document()
        methods: dict = {}
        for route in api_app.ROUTES:
            methods.setdefault(route.template, set()).update(
                m.lower() for m in route.methods)
        for route in api_app.ROUTES:
            operations = document['paths'][route.template]
            self.assertEqual(methods[route.template], set(operations),
                             route.template)
            names = set()
            for param in operations[route.methods[0].lower()].get(
                    'parameters', []):
                if '$ref' in param:
                    param = document['components']['parameters'][
                        param['$ref'].rsplit('/', 1)[1]]
                names.add(param['name'])
            placeholders = {s[1:-1] for s in route.segments
                            if s.startswith('{')}
            self.assertTrue(placeholders <= names, route.template)

    def test_served_document_has_this_deployments_page_size(self):
        served = self._get('/v1/openapi.json')
        self.assertEqual(self.MAX_LIMIT, served['components']['parameters'][
            'Limit']['schema']['maximum'])
        as_yaml = self._response('/v1/openapi.yaml')
        self.assertEqual('application/yaml', as_yaml.content_type)
        self.assertEqual(served, yaml.safe_load(as_yaml.text))
        self.assertEqual(set(_document()['paths']), set(served['paths']))

    def test_unknown_parameters_are_refused_on_every_route(self):
        for route in api_app.ROUTES:
            path = route.template.replace('{event_id}', '1').replace(
                '{at}', '2026-01-01T00:00:00Z').replace(
                '{vitrage_id}', 'x').replace('{alarm_id}', 'x').replace(
                '{key}', 'x')
            for method in route.methods:
                resp = webob.Request.blank(
                    path + '?bogus_param=1', method=method,
                    body=b'{}' if method == 'POST' else b'',
                    content_type='application/json').get_response(self.app)
                self.assertEqual(400, resp.status_int, path)
                self.assertIn('bogus_param', resp.json['error']['message'])
