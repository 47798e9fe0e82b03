"""``[persistor_hooks]``: the publisher that runs inside vitrage-graph."""

from oslo_config import cfg

GROUP = 'persistor_hooks'

OPTS = [
    cfg.BoolOpt(
        'enabled',
        default=True,
        help='Publish enriched events to [persistor] topic. When false the '
             'hooks stay installed but do nothing.'),
    cfg.IntOpt(
        'queue_size',
        default=100000,
        min=1,
        help='Largest number of events waiting in memory for the sender '
             'threads. Vitrage never waits for the broker; when the queue '
             'is full the overflow_policy decides what is given up.'),
    cfg.StrOpt(
        'overflow_policy',
        default='drop_oldest',
        choices=[('drop_oldest', 'discard the oldest queued event'),
                 ('drop_newest', 'discard the event being published')],
        help='What to give up when the queue is full. Drops are counted and '
             'logged at most once per log_interval.'),
    cfg.IntOpt(
        'sender_threads',
        default=2,
        min=1,
        help='Background threads that publish queued events. One durable '
             'RabbitMQ publisher confirms roughly 900 messages/s here.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]
