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

"""oslo.messaging's own options, registered the same way by both sides.

Not an option group of ours (``oslo-config-generator`` lists them under
the ``oslo.messaging`` namespace), so it is not in :data:`MODULES`. The
agent (``persistor/transport.py``) and the publisher in vitrage-graph
(``publish/messaging.py``) both register through :func:`register_opts`.
"""

from oslo_config import cfg
from oslo_messaging import opts as messaging_opts


def _registered(conf: cfg.ConfigOpts, group: str | None, name: str) -> bool:
    try:
        return name in (conf[group] if group else conf)
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def register_opts(conf: cfg.ConfigOpts,
                  groups: tuple[str | None, ...] | None = None) -> None:
    """Register oslo.messaging's options that ``conf`` does not have yet.

    ``groups`` limits it to those groups (None is ``[DEFAULT]``); all by
    default. An option registered earlier is kept: in one process with
    Vitrage, oslo.messaging's option objects no longer equal the earlier
    copies (Vitrage changes ``control_exchange``'s default process-wide),
    and registering them again would raise DuplicateOptError.
    """
    for group, opts in messaging_opts.list_opts():
        if groups is None or group in groups:
            conf.register_opts(
                [opt for opt in opts
                 if not _registered(conf, group, opt.dest)], group=group)


def effective(conf: cfg.ConfigOpts, groups: tuple[str | None, ...]
              ) -> dict[str, dict]:
    """``{group or 'DEFAULT': {option: value}}`` for ``groups``."""
    out = {}
    for group, opts in messaging_opts.list_opts():
        if group not in groups:
            continue
        section = conf if group is None else conf[group]
        out[group or 'DEFAULT'] = {opt.dest: section[opt.dest]
                                   for opt in opts}
    return out
