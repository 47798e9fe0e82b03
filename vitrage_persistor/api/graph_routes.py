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

"""``/v1/graph`` and ``/v1/graph/diff``: replayed graphs over HTTP.

Both hold every project's entities, so their rule
(``persistor:graph:get``) is admin by default. Their size is the graph's,
not the history's: a replay reads the events in keyset pages.
"""

import webob
import webob.exc

from vitrage_persistor.api import params
from vitrage_persistor.replay import diff as diff_mod
from vitrage_persistor.replay import page, render

CONTENT_TYPES = {
    'json': 'application/json',
    'graphml': 'application/graphml+xml',
    'dot': 'text/vnd.graphviz',
    'svg': 'image/svg+xml',
    'html': 'text/html',
}


class GraphHandlers:
    """Handlers of the graph routes (mixed into the API)."""

    def _target(self, q: dict, time_name: str = 'at'):
        when = params.timestamp(time_name, q.get(time_name))
        event_id = params.integer('event_id', q.get('event_id'), 0, 1,
                                  params.MAX_ID) if 'event_id' in q else None
        if when is not None and event_id is not None:
            raise params.bad_request('give at or event_id, not both')
        if when is not None:
            return self.graphs.replay(time_name, at=when)
        return self.graphs.replay('event_id', event_id=event_id)

    def show_graph(self, req, context):
        q = self._query(req, 'at', 'event_id', 'format')
        fmt = q.get('format', 'json')
        if fmt not in CONTENT_TYPES:
            raise params.bad_request('format must be one of %s, got %r' % (
                ', '.join(CONTENT_TYPES), fmt[:32]))
        result = self._target(q)
        view = render.View.from_graph(result.graph)
        document = result.processor.to_document() if fmt == 'json' else None
        title = 'Vitrage entity graph at %s' % result.target
        if fmt == 'html':
            # dot runs in the request: bounded, see page.bounded_layout
            text = page.to_html(view, title,
                                self.conf.api.page_layout_max_vertices)
        else:
            text = render.render(fmt, view, title, document)
        return webob.Response(body=text.encode('utf-8'),
                              content_type=CONTENT_TYPES[fmt],
                              charset='utf-8')

    def graph_diff(self, req, context):
        q = self._query(req, 'from', 'to')
        for name in ('from', 'to'):
            if q.get(name) is None:
                raise params.bad_request('%s is required' % name)
        old = self._target({'from': q['from']}, 'from')
        new = self._target({'to': q['to']}, 'to')
        result = diff_mod.graph_diff(old.graph, old.processor.id_cache,
                                     new.graph, new.processor.id_cache)
        result['from'] = old.target
        result['to'] = new.target
        return self._json_any(result)
