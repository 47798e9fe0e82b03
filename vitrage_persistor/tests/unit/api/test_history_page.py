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

"""The history page's routes: static files, slider stops, refusals.

The page itself runs in a real Chromium in
``tests/functional/api/test_history_page.py``.
"""

import re

import webob

from vitrage_persistor.api import app as api_app
from vitrage_persistor.replay import page
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import records as test_records
from vitrage_persistor.tests.unit.api import test_app
from vitrage_persistor.tests.unit.replay import test_drawing

READER = {'X-Roles': 'reader', 'X-Project-Id': 'p1'}


class TestStaticFiles(test_app.APITestCase):

    def _send(self, path, headers=None, script_name=''):
        req = webob.Request.blank(path, headers=headers or {})
        req.script_name = script_name
        return req.get_response(self.app)

    def test_page_names_its_api_and_runs_only_its_own_files(self):
        resp = self._send('/v1/history')
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual('text/html', resp.content_type)
        self.assertIn('data-api="/v1/"', resp.text)
        self.assertEqual(['/v1/history/cytoscape.min.js',
                          '/v1/history/history.js'],
                         re.findall(r'<script src="([^"]+)"', resp.text))
        self.assertNotIn('{{', resp.text)
        self.assertIn('class="legend"', resp.text)
        csp = resp.headers['Content-Security-Policy']
        self.assertIn("script-src 'self'", csp)
        self.assertIn("connect-src 'self'", csp)
        self.assertNotIn('unsafe-eval', csp)
        self.assertEqual('nosniff', resp.headers['X-Content-Type-Options'])
        # under a prefix (SCRIPT_NAME), every URL of the page follows it
        prefixed = self._send('/v1/history', script_name='/persistor')
        self.assertIn('data-api="/persistor/v1/"', prefixed.text)
        self.assertIn('src="/persistor/v1/history/history.js"',
                      prefixed.text)

    def test_static_files_are_public_and_revalidated(self):
        for path, ctype in (('/v1/history', 'text/html'),
                            ('/v1/history/', 'text/html'),
                            ('/v1/history/history.js', 'text/javascript'),
                            ('/v1/history/cytoscape.min.js',
                             'text/javascript')):
            # a reader, denied the graph rule, still gets the files
            resp = self._send(path, READER)
            self.assertEqual(200, resp.status_int, path)
            self.assertEqual(ctype, resp.content_type, path)
            self.assertEqual('no-cache', resp.headers['Cache-Control'])
            again = self._send(path, {'If-None-Match': resp.headers['ETag']})
            self.assertEqual(304, again.status_int, path)
            self.assertEqual(b'', again.body)
        lib = self._send('/v1/history/cytoscape.min.js')
        self.assertEqual(page.cytoscape_js(), lib.text)
        script = self._send('/v1/history/history.js').text
        self.assertIn("getJSON('history/graph?at='", script)
        # the page sends no data: the data routes need the graph rule
        for path in ('/v1/history/times', '/v1/history/graph'):
            self.assertEqual(403, self._send(path, READER).status_int, path)

    def test_unknown_parameters_and_methods(self):
        resp = self._send('/v1/history?at=2026-01-01T00:00:00Z')
        self.assertEqual(400, resp.status_int)
        self.assertIn('at', resp.json['error']['message'])
        resp = webob.Request.blank('/v1/history/times',
                                   method='DELETE').get_response(self.app)
        self.assertEqual(405, resp.status_int)


class TestTimes(test_app.APITestCase):

    def test_empty_history(self):
        body = self._get('/v1/history/times')
        self.assertEqual({'count': 0, 'oldest': None, 'newest': None,
                          'times': []}, body)
        error = self._get('/v1/history/graph', status=404)['error']
        self.assertIn('empty', error['message'])

    def test_pages_through_every_event_time(self):
        self.store.add_batch([test_records.make_event(i)
                              for i in range(60)])
        body = self._get('/v1/history/times')
        self.assertEqual(60, body['count'])
        self.assertEqual('2026-11-21T03:12:00.123456Z', body['oldest'])
        self.assertEqual('2026-11-21T03:12:59.123456Z', body['newest'])
        # the default page is the largest, [api] max_limit
        self.assertEqual(self.MAX_LIMIT, len(body['times']))
        seen, path = [], '/v1/history/times?limit=7'
        while path:
            body = self._get(path)
            self.assertLessEqual(len(body['times']), 7)
            seen += body['times']
            path = body.get('next')
        self.assertEqual(list(range(1, 61)), [t['event_id'] for t in seen])
        self.assertEqual(body['oldest'], seen[0]['time'])
        self.assertEqual(body['newest'], seen[-1]['time'])
        self.assertEqual(
            [], self._get('/v1/history/times?after_id=60')['times'])

    def test_refusals_name_the_parameter(self):
        for query, name in (('limit=0', 'limit'),
                            ('limit=%d' % (self.MAX_LIMIT + 1), 'limit'),
                            ('limit=%C2%B2', 'limit'),
                            ('after_id=-1', 'after_id'),
                            ('from=2026-01-01T00:00:00Z', 'from')):
            error = self._get('/v1/history/times?' + query,
                              status=400)['error']
            self.assertIn(name, error['message'], query)
        for query, name in (('at=never', 'at'),
                            ('event_id=0', 'event_id'),
                            ('at=2026-01-01T00:00:00Z&event_id=1',
                             'event_id'),
                            ('format=html', 'format')):
            error = self._get('/v1/history/graph?' + query,
                              status=400)['error']
            self.assertIn(name, error['message'], query)


class TestBoundedLayout(base.TestCase):

    def test_dot_up_to_the_bound_then_the_browser(self):
        view = test_drawing.small_view()
        places, routes, why_not = page.bounded_layout(
            view, len(view.vertices))
        self.assertIsNone(why_not)
        self.assertEqual(set(view.vertices), set(places))
        places, routes, why_not = page.bounded_layout(
            view, len(view.vertices) - 1)
        self.assertEqual((None, None), (places, routes))
        self.assertIn('page_layout_max_vertices = %d'
                      % (len(view.vertices) - 1), why_not)
        text = page.to_html(view, 'big', max_layout_vertices=0)
        data = test_drawing.page_data(text)
        self.assertFalse(any('position' in e for e in data['elements']))
        self.assertIn('page_layout_max_vertices = 0', text)


class TestKeystoneMode(base.TestCase):
    """A browser sends no token when it opens the page.

    So the files are public; the data routes answer 401 without a token.
    """

    def test_page_public_data_protected(self):
        self.config(auth_strategy='keystone', group='api')
        self.config(connection='sqlite://', group='database')
        # keystonemiddleware registers [keystone_authtoken] on first use,
        # keystoneauth the plugin's options when it loads it
        self.assertRaises(api_app.ConfigurationError, api_app.make_app,
                          self.conf)
        self.config(www_authenticate_uri='http://127.0.0.1:5000/v3',
                    auth_type='password', group='keystone_authtoken')
        self.assertRaises(api_app.ConfigurationError, api_app.make_app,
                          self.conf)
        self.config(auth_url='http://127.0.0.1:5000/v3', username='vp',
                    password='secret', project_name='service',
                    user_domain_name='Default',
                    project_domain_name='Default',
                    group='keystone_authtoken')
        app = api_app.make_app(self.conf)
        for path in ('/v1/history', '/v1/history/history.js',
                     '/v1/history/cytoscape.min.js'):
            resp = webob.Request.blank(path).get_response(app)
            self.assertEqual(200, resp.status_int, path)
        for path in ('/v1/history/times', '/v1/history/graph'):
            resp = webob.Request.blank(path).get_response(app)
            self.assertEqual(401, resp.status_int, path)
