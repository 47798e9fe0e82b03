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

"""``/v1/history``: one page to look at the graph's history in a browser.

The page, its script (``static/history/history.js``) and the committed
cytoscape.js are static files and hold no data, so they are public like
the version documents: a browser cannot send a token when it opens a URL.
Everything the page shows it fetches from the API with same-origin
requests, each checked by the graph routes' rule
(``persistor:graph:get``), sending the token typed into the page as
``X-Auth-Token`` in keystone mode:

* ``/v1/history/times``: the bounds of the stored history and the times
  of its events (keyset pages), the stops of the time slider;
* ``/v1/history/graph``: the graph at a time as cytoscape.js elements,
  each vertex with the entity key the diff names it by, and positions
  from Graphviz's dot up to ``[api] page_layout_max_vertices``;
* ``/v1/graph/diff`` and ``/v1/at/<time>/v1/rca/<alarm>``, as they are.
"""

import functools
import html
from importlib import resources

import webob

from vitrage_persistor.api import params, views
from vitrage_persistor.replay import canonical, page, render

_STATIC = ('static', 'history')


@functools.cache
def _static(name: str) -> bytes:
    return resources.files('vitrage_persistor').joinpath(
        *_STATIC, name).read_bytes()


def script() -> bytes:
    """The page's script: the shared graph style, then ``history.js``.

    ``replay/page.py`` inlines the same style into its one-file pages.
    """
    return page.graph_style_js().encode('utf-8') + _static('history.js')


# The page runs only its own files; fetches go to this origin only.
_PAGE_HEADERS = {
    'Content-Security-Policy': (
        "default-src 'none'; script-src 'self'; connect-src 'self'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
}


def _static_response(body: bytes, content_type: str) -> webob.Response:
    """A static file, revalidated by ETag (it changes only on upgrade)."""
    resp = webob.Response(body=body, content_type=content_type,
                          charset='utf-8', conditional_response=True)
    resp.headers.update(_PAGE_HEADERS)
    resp.cache_control = 'no-cache'
    resp.md5_etag()
    return resp


def graph_elements(result, max_layout_vertices: int) -> dict:
    """The replayed graph as the page draws it."""
    view = render.View.from_graph(result.graph)
    keys = canonical.vertex_keys(result.graph, result.processor.id_cache)
    places, routes, why_not = page.bounded_layout(view, max_layout_vertices)
    elements = page.elements(view, places, routes)
    for element in elements:
        data = element['data']
        if element['group'] == 'nodes':
            props = data['props']
            data['key'] = keys.get(data['id'], data['id'])
            data['category'] = props.get('vitrage_category')
            data['type'] = props.get('vitrage_type')
            data['project'] = props.get('project_id')
            data['deleted'] = bool(props.get('vitrage_is_deleted'))
        else:
            data['rel'] = data['label']
            data['deleted'] = bool(data['props'].get('vitrage_is_deleted'))
    return {
        'target': result.target,
        'vertices': len(view.vertices),
        'edges': len(view.edges),
        'layout': 'dot' if places is not None else 'browser',
        'layout_note': why_not,
        'elements': elements,
    }


class HistoryHandlers:
    """Handlers of the ``/v1/history`` routes (mixed into the API)."""

    def history_page(self, req, context):
        self._query(req)
        text = _static('history.html').decode('utf-8')
        # the API's base under any SCRIPT_NAME, and the shared legend
        text = text.replace('{{api}}', html.escape(
            req.script_name + '/v1/', quote=True))
        text = text.replace('{{legend}}', page.legend_html())
        return _static_response(text.encode('utf-8'), 'text/html')

    def history_script(self, req, context):
        self._query(req)
        return _static_response(script(), 'text/javascript')

    def history_cytoscape(self, req, context):
        self._query(req)
        return _static_response(page.cytoscape_js().encode('utf-8'),
                                'text/javascript')

    def history_times(self, req, context):
        q = self._query(req, 'after_id', 'limit')
        after_id = params.integer('after_id', q.get('after_id'), 0, 0,
                                  params.MAX_ID)
        limit = params.integer('limit', q.get('limit'),
                               self.conf.api.max_limit, 1,
                               self.conf.api.max_limit)
        counts = self.store.event_counts()
        items = self.store.list_events_page(after_id=after_id, limit=limit)
        body = {
            'count': counts['count'],
            'oldest': views.timestamp(counts['oldest']),
            'newest': views.timestamp(counts['newest']),
            'times': [{'event_id': item.id,
                       'time': views.timestamp(item.collector_timestamp)}
                      for item in items],
        }
        if len(items) == limit:
            body['next'] = self._link(req, '/v1/history/times', {
                'after_id': items[-1].id, 'limit': limit})
        return self._json_any(body)

    def history_graph(self, req, context):
        q = self._query(req, 'at', 'event_id')
        result = self._target(q)
        return self._json_any(graph_elements(
            result, self.conf.api.page_layout_max_vertices))
