"""``[replay]``: rebuilding the entity graph from stored events."""

from oslo_config import cfg

GROUP = 'replay'

OPTS = [
    cfg.StrOpt(
        'processor',
        default='auto',
        choices=[('auto', 'vitrage when installed, else builtin'),
                 ('vitrage', "Vitrage's own entity-graph processor"),
                 ('builtin', 'the dependency-free processor')],
        help='Which processor applies events during replay. Vitrage\'s own '
             'processor builds exactly the graph vitrage-graph would have.'),
    cfg.StrOpt(
        'datasources_values_dir',
        default='/etc/vitrage/datasources_values',
        help='Directory of Vitrage\'s datasources_values/*.yaml. The '
             'vitrage wheel does not ship them; deployers have them under '
             '/etc/vitrage and the vitrage sdist has them under '
             'etc/vitrage/datasources_values.'),
    cfg.IntOpt(
        'page_size',
        default=2000,
        min=1,
        help='Events read per database round trip while replaying. Memory '
             'use is bounded by this, whatever the history length.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
