// The history page of vitrage-persistor (Apache-2.0): plain JavaScript,
// no build step. It draws the entity graph at the time the slider picks,
// fetched from the API of the page's own origin:
//
//   history/times           the stored event times (the slider's stops)
//   history/graph?at=T      the graph at T as cytoscape.js elements
//   graph/diff?from=C&to=T  what changed between a second time C and T
//   at/T/v1/rca/ALARM       Vitrage's RCA of an alarm at T
//
// In keystone mode each request carries the token typed into the page
// (X-Auth-Token); it is kept in this tab's sessionStorage only.
// The state is in the URL fragment (#at=...&compare=...), so a view can
// be shared; body data-* attributes say what is drawn (tests read them).
(function () {
  'use strict';

  var API = document.body.dataset.api;    // e.g. "/v1/"
  var MAX_TIME_PAGES = 20;                // slider stops read at most
  var EVEN_STOPS = 1000;                  // stops when history is longer
  var LARGE = 5000;                       // vertices: a grid, fewer labels
  var DEBOUNCE_MS = 150;

  var el = function (id) { return document.getElementById(id); };
  var slider = el('slider');
  var compare = el('compare');
  var diffOn = el('diff-on');
  var typeFilter = el('type-filter');
  var tenantFilter = el('tenant-filter');
  var hideDeleted = el('hide-deleted');
  var tokenInput = el('token');
  var statusLine = el('status');

  var stops = [];         // RFC 3339 times, ascending
  var shown = null;       // the time drawn
  var loadSeq = 0;        // to drop answers that arrive late
  var rcaAlarm = null;

  // -- requests --------------------------------------------------------

  tokenInput.value = sessionStorage.getItem('vp-token') || '';

  function getJSON(path) {
    var headers = {'Accept': 'application/json'};
    if (tokenInput.value) { headers['X-Auth-Token'] = tokenInput.value; }
    return fetch(API + path, {headers: headers, credentials: 'omit'})
      .then(function (resp) {
        return resp.text().then(function (text) {
          var body = null;
          try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
          if (resp.ok) { return body; }
          var message = (body && body.error && body.error.message) ||
            resp.statusText;
          if (resp.status === 401) {
            message = 'this API needs a Keystone token: paste one ' +
              '(openstack token issue -f value -c id) into Token';
          }
          var err = new Error(resp.status + ': ' + message);
          err.status = resp.status;
          throw err;
        });
      });
  }

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? 'error' : '';
    if (isError) { document.body.dataset.state = 'error'; }
  }

  // -- the slider's stops ---------------------------------------------

  function readTimes(path, pages, seen) {
    return getJSON(path).then(function (body) {
      body.times.forEach(function (t) { seen[t.time] = true; });
      if (body.next && pages + 1 < MAX_TIME_PAGES) {
        // body.next is relative to the host; keep only what follows v1/
        var rest = body.next.slice(body.next.indexOf('/v1/') + 4);
        return readTimes(rest, pages + 1, seen);
      }
      return {body: body, complete: !body.next, seen: seen};
    });
  }

  function evenStops(oldest, newest) {
    var a = Date.parse(oldest), b = Date.parse(newest), out = [];
    for (var i = 0; i < EVEN_STOPS; i++) {
      out.push(new Date(a + (b - a) * i / EVEN_STOPS).toISOString());
    }
    out.push(newest);
    return out;
  }

  function loadStops() {
    return readTimes('history/times', 0, {}).then(function (r) {
      if (r.body.count === 0) { throw new Error('nothing is stored yet'); }
      // every event time if they were all read, else evenly spaced ones
      stops = r.complete ? Object.keys(r.seen).sort()
        : evenStops(r.body.oldest, r.body.newest);
      slider.max = compare.max = String(stops.length - 1);
      document.body.dataset.stops = String(stops.length);
    });
  }

  function stopOf(time) {
    var i = stops.indexOf(time);
    return i >= 0 ? i : stops.length - 1;
  }

  // -- the graph -------------------------------------------------------

  // VP_GRAPH_STYLE: graph-style.js, served in front of this file
  var STYLE = VP_GRAPH_STYLE;
  // Above LARGE vertices, measuring and drawing every label, arrow and
  // curve takes the browser minutes: straight edges, and labels only on
  // what is selected or highlighted (measured: doc/source/api.rst).
  var LARGE_STYLE = [
    {selector: 'node', style: {'label': ''}},
    {selector: 'edge', style: {
      'label': '', 'curve-style': 'haystack', 'target-arrow-shape': 'none'}},
    {selector: 'node:selected, node.rca, node.diff-added, node.diff-changed',
     style: {'label': 'data(label)'}}
  ];
  var HIGHLIGHT = [
    {selector: '.hidden', style: {'display': 'none'}},
    {selector: 'node.diff-added', style: {
      'border-color': '#2e7d32', 'border-width': 6}},
    {selector: 'node.diff-changed', style: {
      'border-color': '#ef6c00', 'border-width': 6}},
    {selector: 'edge.diff-added', style: {
      'line-color': '#2e7d32', 'target-arrow-color': '#2e7d32',
      'width': 4}},
    {selector: 'edge.diff-changed', style: {
      'line-color': '#ef6c00', 'target-arrow-color': '#ef6c00',
      'width': 4}},
    {selector: '.rca', style: {
      'underlay-color': '#1565c0', 'underlay-opacity': 0.3,
      'underlay-padding': 8}},
    {selector: ':selected', style: {
      'border-width': 4, 'border-color': '#1565c0'}}
  ];

  var cy = null;

  // A new cytoscape for each graph: the large-graph options are set at
  // creation only.
  function makeGraph(large) {
    if (cy) { cy.destroy(); }
    cy = cytoscape({
      container: el('graph'),
      wheelSensitivity: 0.3,
      // a large graph is redrawn from a bitmap while panning or zooming
      hideEdgesOnViewport: large,
      textureOnViewport: large,
      style: STYLE.concat(large ? LARGE_STYLE : [], HIGHLIGHT)
    });
    cy.on('tap', 'node, edge', function (evt) {
      var d = evt.target.data();
      el('info').textContent = (evt.target.isNode() ? d.id + '\n' : '') +
        JSON.stringify(d.props, null, 1);
      if (evt.target.isNode() && d.category === 'ALARM') {
        loadRca(d.id);
      }
    });
  }

  function gridPositions(elements) {
    var nodes = elements.filter(function (e) { return e.group === 'nodes'; });
    var columns = Math.ceil(Math.sqrt(nodes.length));
    nodes.forEach(function (e, i) {
      e.position = {x: (i % columns) * 60, y: Math.floor(i / columns) * 60};
    });
  }

  // fit() would measure every label; the positions are known already
  function fitPositions(elements) {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    elements.forEach(function (e) {
      if (!e.position) { return; }
      x0 = Math.min(x0, e.position.x);
      x1 = Math.max(x1, e.position.x);
      y0 = Math.min(y0, e.position.y);
      y1 = Math.max(y1, e.position.y);
    });
    if (x0 === Infinity) { return; }
    var pad = 40, w = cy.width(), h = cy.height();
    var zoom = Math.min(2, (w - 2 * pad) / Math.max(x1 - x0, 1),
                        (h - 2 * pad) / Math.max(y1 - y0, 1));
    cy.viewport({zoom: zoom, pan: {
      x: (w - zoom * (x0 + x1)) / 2, y: (h - zoom * (y0 + y1)) / 2}});
  }

  function draw(data) {
    var large = data.vertices > LARGE;
    makeGraph(large);
    if (large && data.layout !== 'dot') { gridPositions(data.elements); }
    cy.batch(function () {
      cy.add(data.elements);
      // dot's edge routes, as cytoscape segments (replay/page.py)
      if (!large) {
        cy.edges().forEach(function (e) {
          if (e.data('route')) { e.style(e.data('route')); }
        });
      }
    });
    if (large) {
      fitPositions(data.elements);
    } else if (data.layout === 'dot') {
      cy.layout({name: 'preset', fit: true, padding: 20}).run();
    } else {
      cy.layout({name: 'breadthfirst', directed: true, padding: 20}).run();
    }
    el('counts').textContent = data.vertices + ' vertices, ' +
      data.edges + ' edges; layout: ' + (data.layout === 'dot'
        ? 'Graphviz dot' : (large ? 'a grid' : 'cytoscape breadthfirst') +
        ' in the browser (' + data.layout_note + ')') +
      (large ? '; labels on selected and highlighted vertices only' : '');
    fillFilters();
    applyFilters();
  }

  function loadGraph() {
    var time = stops[Number(slider.value)];
    var seq = ++loadSeq;
    document.body.dataset.state = 'loading';
    say('Replaying the graph at ' + time + '...');
    writeFragment();
    return getJSON('history/graph?at=' + encodeURIComponent(time))
      .then(function (data) {
        if (seq !== loadSeq) { return; }
        draw(data);
        shown = time;
        clearRca();
        return loadDiff().then(function () {
          if (seq !== loadSeq) { return; }
          document.body.dataset.shown = time;
          document.body.dataset.state = 'ready';
          say('The graph at ' + time + ' (' + data.target + ').');
        });
      })
      .catch(function (err) {
        if (seq === loadSeq) { say(err.message, true); }
      });
  }

  // -- filters ---------------------------------------------------------

  function setOptions(select, values, labelOf) {
    var keep = select.value;
    while (select.options.length > 1) { select.remove(1); }
    values.forEach(function (v) {
      select.add(new Option(labelOf(v), v));
    });
    select.value = values.indexOf(keep) >= 0 ? keep : '';
  }

  function fillFilters() {
    var types = {}, tenants = {};
    cy.nodes().forEach(function (n) {
      types[n.data('type') || '?'] = true;
      tenants[n.data('project') || '-'] = true;
    });
    setOptions(typeFilter, Object.keys(types).sort(),
               function (v) { return v; });
    setOptions(tenantFilter, Object.keys(tenants).sort(), function (v) {
      return v === '-' ? '(no project)' : v;
    });
  }

  function applyFilters() {
    if (!cy) { return; }
    var type = typeFilter.value, tenant = tenantFilter.value;
    var live = hideDeleted.checked;
    cy.batch(function () {
      cy.nodes().forEach(function (n) {
        var show = (!type || (n.data('type') || '?') === type) &&
          (!tenant || (n.data('project') || '-') === tenant) &&
          !(live && n.data('deleted'));
        n.toggleClass('hidden', !show);
      });
      cy.edges().forEach(function (e) {
        e.toggleClass('hidden', live && e.data('deleted'));
      });
    });
    document.body.dataset.visible = String(
      cy.nodes().not('.hidden').length);
  }

  // -- the diff ------------------------------------------------------------

  function edgeKey(e) {
    return e.source().data('key') + '|' + e.target().data('key') + '|' +
      e.data('rel');
  }

  function listItems(items, cls, sign) {
    var ul = document.createElement('ul');
    items.forEach(function (item) {
      var li = document.createElement('li');
      li.className = cls;
      li.textContent = sign + ' ' + item.label;
      ul.appendChild(li);
    });
    return ul;
  }

  function showDiff(diff) {
    var byKey = {};
    cy.nodes().forEach(function (n) { byKey[n.data('key')] = n; });
    var edges = {};
    cy.edges().forEach(function (e) { edges[edgeKey(e)] = e; });
    cy.batch(function () {
      ['added', 'changed'].forEach(function (what) {
        diff.vertices[what].forEach(function (v) {
          if (byKey[v.key]) { byKey[v.key].addClass('diff-' + what); }
        });
        diff.edges[what].forEach(function (d) {
          var e = edges[d.source + '|' + d.target + '|' +
                        d.relationship_type];
          if (e) { e.addClass('diff-' + what); }
        });
      });
    });
    var box = el('diff');
    box.textContent = 'from ' + diff.from + ' to ' + diff.to + ':';
    ['vertices', 'edges'].forEach(function (kind) {
      var part = diff[kind];
      var head = document.createElement('div');
      head.textContent = kind + ': ' + part.added.length + ' added, ' +
        part.removed.length + ' removed, ' + part.changed.length +
        ' changed';
      box.appendChild(head);
      box.appendChild(listItems(part.added, 'added', '+'));
      box.appendChild(listItems(part.removed, 'removed', '-'));
      box.appendChild(listItems(part.changed, 'changed', '~'));
    });
  }

  function loadDiff() {
    if (!cy) { return Promise.resolve(); }
    cy.elements().removeClass('diff-added diff-changed');
    delete document.body.dataset.diff;
    if (!diffOn.checked || shown === null) {
      el('diff').textContent = '(tick "diff against" and pick a ' +
        'second time)';
      return Promise.resolve();
    }
    var other = stops[Number(compare.value)];
    return getJSON('graph/diff?from=' + encodeURIComponent(other) +
                   '&to=' + encodeURIComponent(shown))
      .then(function (diff) {
        showDiff(diff);
        document.body.dataset.diff = other + '..' + shown;
      });
  }

  // -- RCA -----------------------------------------------------------------

  function clearRca() {
    rcaAlarm = null;
    cy.elements().removeClass('rca');
    delete document.body.dataset.rca;
    el('rca').textContent = '(click an alarm)';
  }

  function showRca(alarm, rca) {
    var ids = rca.nodes.map(function (n) { return n.vitrage_id; });
    var name = function (n) { return (n.name || n.vitrage_id) +
      ' [' + n.vitrage_type + ']'; };
    cy.batch(function () {
      ids.forEach(function (id) { cy.getElementById(id).addClass('rca'); });
      rca.links.forEach(function (l) {
        cy.getElementById(ids[l.source]).edgesTo(
          cy.getElementById(ids[l.target])).filter(function (e) {
          return e.data('rel') === l.relationship_type;
        }).addClass('rca');
      });
    });
    var box = el('rca');
    box.textContent = 'of ' + name(rca.nodes[rca.inspected_index]) +
      ': ' + rca.nodes.length + ' alarms, ' + rca.links.length + ' links';
    var ol = document.createElement('ol');
    rca.links.forEach(function (l) {
      var li = document.createElement('li');
      li.textContent = name(rca.nodes[l.source]) + ' ' +
        l.relationship_type + ' ' + name(rca.nodes[l.target]);
      ol.appendChild(li);
    });
    box.appendChild(ol);
    document.body.dataset.rca = alarm;
  }

  function loadRca(alarm) {
    clearRca();
    rcaAlarm = alarm;
    el('rca').textContent = 'asking for the RCA of ' + alarm + '...';
    getJSON('at/' + encodeURIComponent(shown) + '/v1/rca/' +
            encodeURIComponent(alarm) + '?all_tenants=true')
      .then(function (rca) { if (rcaAlarm === alarm) { showRca(alarm, rca); } })
      .catch(function (err) { el('rca').textContent = err.message; });
  }


  // -- controls and the URL fragment ------------------------------------

  function label() {
    el('time').textContent = stops[Number(slider.value)] || '';
    el('compare-time').textContent = diffOn.checked
      ? stops[Number(compare.value)] : '';
    compare.disabled = !diffOn.checked;
  }

  function writeFragment() {
    var parts = ['at=' + encodeURIComponent(stops[Number(slider.value)])];
    if (diffOn.checked) {
      parts.push('compare=' + encodeURIComponent(
        stops[Number(compare.value)]));
    }
    history.replaceState(null, '', '#' + parts.join('&'));
  }

  function readFragment() {
    var found = {};
    location.hash.slice(1).split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) {
        found[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
      }
    });
    slider.value = String(stopOf(found.at));
    diffOn.checked = Boolean(found.compare);
    compare.value = String(found.compare ? stopOf(found.compare) : 0);
  }

  var timer = null;
  function later(fn) {
    clearTimeout(timer);
    timer = setTimeout(fn, DEBOUNCE_MS);
  }

  slider.addEventListener('input', function () { label(); later(loadGraph); });
  compare.addEventListener('input', function () {
    label();
    later(function () {
      writeFragment();
      loadDiff().catch(function (err) { say(err.message, true); });
    });
  });
  diffOn.addEventListener('change', function () {
    label();
    writeFragment();
    loadDiff().catch(function (err) { say(err.message, true); });
  });
  [typeFilter, tenantFilter, hideDeleted].forEach(function (c) {
    c.addEventListener('change', applyFilters);
  });
  tokenInput.addEventListener('change', function () {
    sessionStorage.setItem('vp-token', tokenInput.value);
    start();
  });

  function start() {
    document.body.dataset.state = 'loading';
    return loadStops().then(function () {
      readFragment();
      label();
      return loadGraph();
    }).catch(function (err) { say(err.message, true); });
  }

  // for tests and for poking at it in the browser's console
  window.historyPage = {
    get cy() { return cy; },
    stops: function () { return stops; }
  };
  start();
})();
