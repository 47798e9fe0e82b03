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

"""What changed in the entity graph between two points in history.

Both graphs are compared in canonical form (vertices named by entity key,
see :mod:`.canonical`), so the vitrage_ids of the two replays do not
matter.
"""

from vitrage_persistor.replay import canonical


def _label(key: str, props: dict) -> str:
    name = props.get('name') or props.get('id') or ''
    short = key[:12] + key[32:] if '#' in key else key[:12]
    return '%s %s [%s]' % (props.get('vitrage_type', '?'), name, short)


def _changes(old: dict, new: dict) -> dict:
    return {p: [old.get(p), new.get(p)] for p in sorted(set(old) | set(new))
            if old.get(p) != new.get(p)}


def graph_diff(old_graph, old_cache, new_graph, new_cache) -> dict:
    """Vertices and edges added, removed and changed (with properties)."""
    return form_diff(canonical.canonical(old_graph, old_cache),
                     canonical.canonical(new_graph, new_cache))


def form_diff(old: dict, new: dict) -> dict:
    ov, nv = old['vertices'], new['vertices']
    result = {
        'vertices': {
            'added': [{'key': k, 'label': _label(k, nv[k])}
                      for k in sorted(set(nv) - set(ov))],
            'removed': [{'key': k, 'label': _label(k, ov[k])}
                        for k in sorted(set(ov) - set(nv))],
            'changed': [{'key': k, 'label': _label(k, nv[k]),
                         'properties': _changes(ov[k], nv[k])}
                        for k in sorted(set(ov) & set(nv))
                        if ov[k] != nv[k]],
        },
    }
    oe = {tuple(e[:3]): e[3] for e in old['edges']}
    ne = {tuple(e[:3]): e[3] for e in new['edges']}

    def edge(k, props):
        return {'source': k[0], 'target': k[1], 'relationship_type': k[2],
                'label': '%s -%s-> %s' % (
                    _label(k[0], nv.get(k[0]) or ov.get(k[0], {})), k[2],
                    _label(k[1], nv.get(k[1]) or ov.get(k[1], {})))}

    result['edges'] = {
        'added': [edge(k, ne[k]) for k in sorted(set(ne) - set(oe))],
        'removed': [edge(k, oe[k]) for k in sorted(set(oe) - set(ne))],
        'changed': [dict(edge(k, ne[k]), properties=_changes(oe[k], ne[k]))
                    for k in sorted(set(oe) & set(ne)) if oe[k] != ne[k]],
    }
    return result


def is_empty(diff: dict) -> bool:
    return not any(diff[kind][what] for kind in ('vertices', 'edges')
                   for what in ('added', 'removed', 'changed'))


def format_text(diff: dict) -> str:
    lines = []
    for kind in ('vertices', 'edges'):
        part = diff[kind]
        lines.append('%s: %d added, %d removed, %d changed' % (
            kind, len(part['added']), len(part['removed']),
            len(part['changed'])))
        for item in part['added']:
            lines.append('  + %s' % item['label'])
        for item in part['removed']:
            lines.append('  - %s' % item['label'])
        for item in part['changed']:
            lines.append('  ~ %s' % item['label'])
            for prop, (old, new) in item['properties'].items():
                lines.append('      %s: %r -> %r' % (prop, old, new))
    return '\n'.join(lines) + '\n'
