// The base cytoscape.js style of every graph the project draws: the
// standalone page of replay/page.py inlines this file, and the history
// page's script is served after it (api/history_page.py). The data
// fields (shape, fill, line, text, dashed, width) come from
// replay/drawing.py through the elements.
var VP_GRAPH_STYLE = [
  {selector: 'node', style: {
    'label': 'data(label)', 'text-wrap': 'wrap', 'font-size': 9,
    'text-valign': 'bottom', 'text-margin-y': 3,
    'shape': 'data(shape)', 'background-color': 'data(fill)',
    'border-color': 'data(line)', 'border-width': 1.5,
    'border-style': 'data(dashed)', 'color': 'data(text)',
    'width': 26, 'height': 26}},
  {selector: 'edge', style: {
    'label': 'data(label)', 'font-size': 7, 'color': 'data(line)',
    'text-background-color': '#fff', 'text-background-opacity': 0.8,
    'curve-style': 'bezier', 'target-arrow-shape': 'triangle',
    'line-color': 'data(line)', 'target-arrow-color': 'data(line)',
    'width': 'data(width)', 'line-style': 'data(dashed)'}}
];
