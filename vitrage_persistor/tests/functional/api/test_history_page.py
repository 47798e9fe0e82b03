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

"""The history page in a real headless Chromium, driven by playwright.

playwright (PyPI) drives Debian's ``/usr/bin/chromium`` (no ``playwright
install``: its browser downloads are not needed). uWSGI serves the API
over PostgreSQL holding the RCA history of
:mod:`vitrage_persistor.tests.common.rca_history`: a host with a nagios
alarm, then a deduced alarm on an instance and the causal edge between
them, then both undone. The test moves the page's slider from before the
incident to during it and checks that what cytoscape.js holds is, each
time, the graph ``/v1/graph?format=json`` returns; that the screenshots
differ and show exactly the fill colours of those vertices; that the
diff highlight is what ``/v1/graph/diff`` names; and that clicking the
deduced alarm shows the RCA that ``/v1/at/<time>/v1/rca/<alarm>``
returns.

Without Chromium or playwright the test skips, except in CI (``CI`` set
to true), where it fails: ``tools/test-setup.sh`` installs Chromium and
``test-requirements.txt`` playwright. Set ``VP_SCREENSHOT_DIR`` to keep
the screenshots; they are also attached to the test's result.
"""

import base64
import json
import os
import shutil
import time
import urllib.parse

from oslo_db.sqlalchemy import test_fixtures
from testtools import content

from vitrage_persistor import wire
from vitrage_persistor.api import history_page
from vitrage_persistor.replay import drawing
from vitrage_persistor.replay import page as page_mod
from vitrage_persistor.tests import base
from vitrage_persistor.tests.common import rca_history, replay_base
from vitrage_persistor.tests.functional import fixtures as func_fixtures
from vitrage_persistor.tests.functional.api import server

CHROMIUM = os.environ.get('VP_CHROMIUM', '/usr/bin/chromium')
TIMEOUT_MS = 30000
# Colours a vertex's fill can have; white (placeholders) is the
# background, and DELETED_LINE also draws the labels of deleted vertices.
PALETTE = (set(drawing.STATE_COLOURS.values()) | {
    drawing.OTHER_COLOUR, drawing.DELETED_FILL}) - {drawing.DELETED_LINE}
MIN_PIXELS = 12


def _in_ci() -> bool:
    return os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


# Counts the pixels of each palette colour in a PNG, in the browser
# (no image library needed on the Python side).
_COUNT_COLOURS = """
async ([png, palette]) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  const hex = (v) => v.toString(16).padStart(2, '0');
  const counts = {};
  let white = 0;
  for (let i = 0; i < px.length; i += 4) {
    const c = '#' + hex(px[i]) + hex(px[i + 1]) + hex(px[i + 2]);
    if (c === '#ffffff') { white++; }
    if (palette.includes(c)) { counts[c] = (counts[c] || 0) + 1; }
  }
  return {counts: counts, white: white, total: px.length / 4};
}
"""


class BrowserMixin:
    """A headless Chromium page, driven by playwright: ``_browser()``."""

    def _missing(self, what):
        if _in_ci():
            self.fail('%s; CI must run this test (tools/test-setup.sh '
                      'installs chromium, test-requirements.txt playwright)'
                      % what)
        self.skipTest(what)

    def _browser(self):
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self._missing('playwright is not installed (pip install '
                          'playwright; its browsers are not needed)')
        if not os.access(CHROMIUM, os.X_OK):
            self._missing('no Chromium at %s (apt-get install chromium, or '
                          'set VP_CHROMIUM)' % CHROMIUM)
        pw = sync_playwright().start()
        self.addCleanup(pw.stop)
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     headless=True)
        self.addCleanup(browser.close)
        page = browser.new_page(viewport={'width': 1200, 'height': 760},
                                device_scale_factor=1)
        page.set_default_timeout(TIMEOUT_MS)
        self.console = []
        page.on('console', lambda m: self.console.append(
            '%s: %s' % (m.type, m.text)))
        page.on('pageerror', lambda e: self.console.append('error: %s' % e))
        self.addDetail('browser-console', content.Content(
            content.UTF8_TEXT, lambda: ['\n'.join(self.console).encode()]))
        return page


class HistoryPageBase(BrowserMixin, func_fixtures.OpportunisticDB,
                      replay_base.ReplayTestCase):
    """The API under uWSGI on PostgreSQL with the RCA history, a browser."""

    FIXTURE = test_fixtures.PostgresqlOpportunisticFixture
    API_OPTS: dict = {}
    token = None

    def setUp(self):
        super().setUp()
        self.browser_page = self._browser()
        self.history = rca_history.build(self.conf)
        self.store.add_batch(self.history.records)
        config = server.write_config(
            os.path.join(self.state_dir, 'api.conf'), self.db_url,
            **self.API_OPTS)
        with open(config, 'a') as f:
            f.write('[replay]\ndatasources_values_dir = %s\n'
                    % self.values_dir)
            f.write(self.extra_config())
        self.api = self.useFixture(server.UwsgiAPI(
            config, os.path.join(self.state_dir, 'uwsgi.log')))

    def extra_config(self) -> str:
        return ''

    # -- helpers -----------------------------------------------------------

    def _api_json(self, path):
        status, body = self.api.get(
            path, {'X-Auth-Token': self.token} if self.token else None)
        self.assertEqual(200, status, body[:2000])
        return json.loads(body)

    def _time(self, label):
        return wire.format_timestamp(self.history.times[label])

    def _api_graph(self, time):
        document = self._api_json('/v1/graph?format=json&at='
                                  + urllib.parse.quote(time))
        vertices = {v['vitrage_id']: v['properties']
                    for v in document['vertices']}
        return vertices, document['edges']

    def _wait_shown(self, time):
        self.browser_page.wait_for_function(
            't => document.body.dataset.state === "ready" && '
            'document.body.dataset.shown === t', arg=time)

    def _move_slider(self, selector, time):
        stops = self.browser_page.evaluate(
            '() => window.historyPage.stops()')
        self.assertIn(time, stops)
        self.browser_page.locator(selector).fill(str(stops.index(time)))

    def _drawn(self):
        return self.browser_page.evaluate("""() => {
          const cy = window.historyPage.cy;
          return {
            nodes: cy.nodes().map(n => [n.id(), n.data('label')]),
            edges: cy.edges().map(e => [e.source().id(), e.target().id(),
                                        e.data('rel')]),
            added: cy.nodes('.diff-added').map(n => n.data('key')),
            changed: cy.nodes('.diff-changed').map(n => n.data('key')),
            added_edges: cy.edges('.diff-added').map(
              e => [e.source().data('key'), e.target().data('key'),
                    e.data('rel')]),
            rca: cy.nodes('.rca').map(n => n.id()),
            rca_edges: cy.edges('.rca').map(
              e => [e.source().id(), e.target().id(), e.data('rel')]),
          };
        }""")

    def _screenshot(self, name, whole=False):
        path = os.path.join(self.state_dir, name)
        png = (self.browser_page if whole else self.browser_page.locator(
            '#graph')).screenshot(path=path)
        self.addDetail(name, content.Content(
            content.ContentType('image', 'png'), lambda: [png]))
        keep = os.environ.get('VP_SCREENSHOT_DIR')
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(path, keep)
        colours = self.browser_page.evaluate(_COUNT_COLOURS, [
            base64.b64encode(png).decode(), sorted(PALETTE)])
        return png, colours

    def _check_drawn_is_api_graph(self, time):
        vertices, edges = self._api_graph(time)
        drawn = self._drawn()
        labels = drawing.display_lines(vertices)
        self.assertEqual(
            sorted((vid, '\n'.join(labels[vid])) for vid in vertices),
            sorted((vid, label) for vid, label in drawn['nodes']), time)
        self.assertEqual(
            sorted((e['source'], e['target'], e['relationship_type'])
                   for e in edges),
            sorted(tuple(e) for e in drawn['edges']), time)
        return vertices, drawn

    def _check_screenshot_shows(self, vertices, colours):
        expected = set()
        for props in vertices.values():
            style = drawing.node_style(props)
            expected |= {style['fill'], style['line']}
        expected &= PALETTE
        seen = {c for c, n in colours['counts'].items() if n >= MIN_PIXELS}
        self.assertEqual(sorted(expected), sorted(seen), colours)
        # not blank: a graph, not only the white background
        self.assertLess(colours['white'], colours['total'] * 0.995, colours)


class TestHistoryPageInChromium(HistoryPageBase):
    """Graphviz's layout: the slider, the diff, the RCA, the filters."""

    def test_slider_diff_and_rca_show_what_the_api_returns(self):
        h, page = self.history, self.browser_page
        before, during = self._time('before'), self._time('during')
        page.goto(self.api.url + '/v1/history')
        page.wait_for_function(
            '() => document.body.dataset.state === "ready"')
        self.assertEqual(str(len({t['time'] for t in self._api_json(
            '/v1/history/times')['times']})), page.evaluate(
            '() => document.body.dataset.stops'))

        # 1. the slider, before the incident then during it
        self._move_slider('#slider', before)
        self._wait_shown(before)
        old, old_drawn = self._check_drawn_is_api_graph(before)
        old_png, old_colours = self._screenshot('before.png')
        self._check_screenshot_shows(old, old_colours)
        self.assertNotIn(h.deduced_alarm, old)

        self._move_slider('#slider', during)
        self._wait_shown(during)
        new, new_drawn = self._check_drawn_is_api_graph(during)
        new_png, new_colours = self._screenshot('during.png')
        self._check_screenshot_shows(new, new_colours)
        self.assertIn(h.deduced_alarm, new)
        self.assertNotEqual(old_drawn['nodes'], new_drawn['nodes'])
        self.assertNotEqual(old_png, new_png)
        self.assertIn('#at=' + urllib.parse.quote(during, safe=''),
                      page.url)

        # 2. the diff against the time before: what /v1/graph/diff names
        page.locator('#diff-on').check()
        self._move_slider('#compare', before)
        page.wait_for_function(
            'd => document.body.dataset.diff === d',
            arg='%s..%s' % (before, during))
        diff = self._api_json('/v1/graph/diff?from=%s&to=%s' % (
            urllib.parse.quote(before), urllib.parse.quote(during)))
        drawn = self._drawn()
        self.assertEqual(sorted(v['key'] for v in diff['vertices']['added']),
                         sorted(drawn['added']))
        self.assertEqual(
            sorted(v['key'] for v in diff['vertices']['changed']),
            sorted(drawn['changed']))
        self.assertEqual(
            sorted((e['source'], e['target'], e['relationship_type'])
                   for e in diff['edges']['added']),
            sorted(tuple(e) for e in drawn['added_edges']))
        self.assertIn(new[h.deduced_alarm]['vitrage_cached_id'],
                      drawn['added'])
        self.assertIn('causes', {e[2] for e in drawn['added_edges']})
        self.assertIn('vertices: %d added' % len(
            diff['vertices']['added']), page.locator('#diff').inner_text())
        self._screenshot('diff.png')

        # 3. click the deduced alarm: its RCA, as the RCA route answers
        box = page.locator('#graph').bounding_box()
        where = page.evaluate(
            'id => window.historyPage.cy.getElementById(id)'
            '.renderedPosition()', h.deduced_alarm)
        page.mouse.click(box['x'] + where['x'], box['y'] + where['y'])
        page.wait_for_function('a => document.body.dataset.rca === a',
                               arg=h.deduced_alarm)
        rca = self._api_json('/v1/at/%s/v1/rca/%s?all_tenants=true' % (
            urllib.parse.quote(during), h.deduced_alarm))
        ids = [n['vitrage_id'] for n in rca['nodes']]
        drawn = self._drawn()
        self.assertEqual(sorted(ids), sorted(drawn['rca']))
        self.assertEqual(
            sorted((ids[link['source']], ids[link['target']],
                    link['relationship_type']) for link in rca['links']),
            sorted(tuple(e) for e in drawn['rca_edges']))
        self.assertIn((h.nagios_alarm, h.deduced_alarm, 'causes'),
                      {tuple(e) for e in drawn['rca_edges']})
        self.assertIn('causes', page.locator('#rca').inner_text())
        self._screenshot('rca.png')
        self._screenshot('page.png', whole=True)  # the docs' picture

        # 4. the type filter leaves the vertices of that type
        page.locator('#type-filter').select_option('nova.instance')
        shown = page.evaluate(
            '() => window.historyPage.cy.nodes().not(".hidden")'
            '.map(n => n.id())')
        self.assertEqual(
            sorted(vid for vid, p in new.items()
                   if p.get('vitrage_type') == 'nova.instance'),
            sorted(shown))
        # and the tenant filter, those of the instance's project among them
        project = new[h.instance]['project_id']
        self.assertTrue(project)
        page.locator('#tenant-filter').select_option(project)
        shown = page.evaluate(
            '() => window.historyPage.cy.nodes().not(".hidden")'
            '.map(n => n.id())')
        self.assertEqual(
            sorted(vid for vid, p in new.items()
                   if p.get('vitrage_type') == 'nova.instance'
                   and p.get('project_id') == project),
            sorted(shown))
        self.assertIn(h.instance, shown)
        self.assertEqual([], [m for m in self.console
                              if m.startswith('error')])


class TestHistoryPageBrowserLayout(HistoryPageBase):
    """Above [api] page_layout_max_vertices cytoscape.js lays it out."""

    API_OPTS = {'page_layout_max_vertices': 0}

    def test_the_browser_lays_out_the_same_graph(self):
        page, during = self.browser_page, self._time('during')
        page.goto(self.api.url + '/v1/history#at=' + during)
        self._wait_shown(during)
        new, drawn = self._check_drawn_is_api_graph(during)
        self.assertIn('page_layout_max_vertices = 0',
                      page.locator('#counts').inner_text())
        graph = self._api_json('/v1/history/graph?at=' + during)
        self.assertEqual('browser', graph['layout'])
        self.assertFalse(any('position' in e for e in graph['elements']))
        # breadthfirst spreads the vertices: no two on the same spot
        spots = page.evaluate(
            '() => window.historyPage.cy.nodes().map('
            'n => [Math.round(n.position("x")), '
            'Math.round(n.position("y"))].join())')
        self.assertEqual(len(new), len(set(spots)))
        png, colours = self._screenshot('browser-layout.png')
        self._check_screenshot_shows(new, colours)


class TestHistoryPageKeystone(HistoryPageBase):
    """keystone mode: the page opens, asks for a token, then draws."""

    API_OPTS = {'auth_strategy': 'keystone'}

    def extra_config(self):
        from vitrage_persistor.tests.functional.api import test_tempest
        self.keystone = self.useFixture(test_tempest.Keystone(
            self.state_dir))
        info = self.keystone.info
        return ('[keystone_authtoken]\nwww_authenticate_uri = %s\n'
                'auth_url = %s\nauth_type = password\nusername = admin\n'
                'password = %s\nproject_name = admin\n'
                'user_domain_id = default\nproject_domain_id = default\n'
                'region_name = %s\n' % (
                    info['auth_url'], info['auth_url'], info['password'],
                    info['region']))

    def _admin_token(self):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        info = self.keystone.info
        auth = v3.Password(auth_url=info['auth_url'], username='admin',
                           password=info['password'], project_name='admin',
                           user_domain_id='default',
                           project_domain_id='default')
        return session.Session(auth=auth).get_token()

    def test_token_typed_into_the_page(self):
        page, during = self.browser_page, self._time('during')
        page.goto(self.api.url + '/v1/history#at=' + during)
        page.wait_for_function(
            '() => document.body.dataset.state === "error"')
        self.assertIn('needs a Keystone token',
                      page.locator('#status').inner_text())
        # a wrong token: refused again (the state is reset first, so the
        # wait sees this answer, not the one before)
        page.evaluate('() => { document.body.dataset.state = "typed"; '
                      'document.getElementById("status").textContent = ""; '
                      '}')
        page.locator('#token').fill('not-a-token')
        page.locator('#token').press('Enter')
        page.wait_for_function(
            '() => document.body.dataset.state === "error"')
        self.assertIn('needs a Keystone token',
                      page.locator('#status').inner_text())
        self.token = self._admin_token()
        page.locator('#token').fill(self.token)
        page.locator('#token').press('Enter')
        self._wait_shown(during)
        self._check_drawn_is_api_graph(during)
        # the RCA route takes the same token
        box = page.locator('#graph').bounding_box()
        where = page.evaluate(
            'id => window.historyPage.cy.getElementById(id)'
            '.renderedPosition()', self.history.deduced_alarm)
        page.mouse.click(box['x'] + where['x'], box['y'] + where['y'])
        page.wait_for_function('a => document.body.dataset.rca === a',
                               arg=self.history.deduced_alarm)
        # kept in the tab: a reload needs no typing
        page.reload()
        self._wait_shown(during)


class TestHistoryPageLargeGraph(BrowserMixin, base.TestCase):
    """Above 5000 vertices: a grid, straight edges, labels on demand.

    No API here: playwright answers the page's requests with the served
    files and a synthetic graph (a zone, hosts, instances). The time it
    took is attached (``drawn-in``; 1.4 s on an idle 2-core machine, see
    doc/source/api.rst for 30,000 vertices) but not asserted: on a shared
    machine it says more about the neighbours than about the page. What
    makes it fast is asserted instead.
    """

    VERTICES = 6000

    def _graph(self):
        hosts = self.VERTICES // 20
        elements = [{'group': 'nodes', 'data': {
            'id': 'zone', 'label': 'zone', 'shape': 'ellipse',
            'fill': '#4caf50', 'line': '#37474f', 'text': '#000000',
            'dashed': 'solid', 'key': 'zone', 'type': 'nova.zone',
            'category': 'RESOURCE', 'project': None, 'deleted': False,
            'props': {}}}]
        for i in range(1, self.VERTICES):
            kind = 'nova.host' if i <= hosts else 'nova.instance'
            parent = 'zone' if i <= hosts else 'v%d' % (1 + i % hosts)
            elements.append({'group': 'nodes', 'data': dict(
                elements[0]['data'], id='v%d' % i, key='v%d' % i,
                label='v%d' % i, type=kind)})
            elements.append({'group': 'edges', 'data': {
                'id': 'e%d' % i, 'source': parent, 'target': 'v%d' % i,
                'label': 'contains',
                'rel': 'contains', 'line': '#546e7a', 'width': 1,
                'dashed': 'solid', 'deleted': False, 'props': {}}})
        return {'target': 'now', 'vertices': self.VERTICES,
                'edges': self.VERTICES - 1, 'layout': 'browser',
                'layout_note': 'synthetic', 'elements': elements}

    def test_large_graph_mode(self):
        page = self._browser()
        when = '2026-01-01T00:00:00.000000Z'
        files = {
            '/v1/history': (history_page._static('history.html').decode()
                            .replace('{{api}}', '/v1/')
                            .replace('{{legend}}', ''), 'text/html'),
            '/v1/history/history.js': (history_page.script(),
                                       'text/javascript'),
            '/v1/history/cytoscape.min.js': (page_mod.cytoscape_js(),
                                             'text/javascript'),
            '/v1/history/times': (json.dumps({
                'count': 1, 'oldest': when, 'newest': when,
                'times': [{'event_id': 1, 'time': when}]}),
                'application/json'),
            '/v1/history/graph': (json.dumps(self._graph()),
                                  'application/json'),
        }

        def answer(route):
            path = urllib.parse.urlsplit(route.request.url).path
            body, ctype = files.get(path, ('', 'text/plain'))
            route.fulfill(status=200 if path in files else 404, body=body,
                          content_type=ctype)

        page.route('http://history.test/**', answer)
        start = time.monotonic()
        page.goto('http://history.test/v1/history')
        page.wait_for_function(
            '() => document.body.dataset.state === "ready"',
            timeout=4 * TIMEOUT_MS)
        took = time.monotonic() - start
        self.addDetail('drawn-in', content.text_content('%.1f s' % took))
        drawn = page.evaluate("""() => {
          const cy = window.historyPage.cy;
          const spots = new Set(cy.nodes().map(
            n => n.position('x') + ',' + n.position('y')));
          return {nodes: cy.nodes().length, spots: spots.size,
                  labelled: cy.nodes().filter(
                    n => n.style('label') !== '').length,
                  curves: [...new Set(cy.edges().map(
                    e => e.style('curve-style')))],
                  extent: cy.extent(), box: cy.nodes().boundingBox(
                    {includeLabels: false})};
        }""")
        self.assertEqual(self.VERTICES, drawn['nodes'])
        self.assertEqual(self.VERTICES, drawn['spots'])
        self.assertEqual(0, drawn['labelled'])
        self.assertEqual(['haystack'], drawn['curves'])
        # the whole grid is in view
        self.assertLessEqual(drawn['extent']['x1'], drawn['box']['x1'])
        self.assertGreaterEqual(drawn['extent']['x2'], drawn['box']['x2'])
        self.assertIn('a grid', page.locator('#counts').inner_text())
        # a click labels that vertex
        # (a block: returning the element would serialise the whole graph)
        page.evaluate('() => { window.historyPage.cy.getElementById("v7")'
                      '.select(); }')
        self.assertEqual('v7', page.evaluate(
            '() => window.historyPage.cy.getElementById("v7")'
            '.style("label")'))
