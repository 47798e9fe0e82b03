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

"""What every subcommand-style console script does before its command."""

import sys

from oslo_config import cfg

from vitrage_persistor import service


def parse_subcommand(prog: str, add_parsers,
                     argv: list[str] | None) -> cfg.ConfigOpts | None:
    """Register the ``command`` sub-parsers, parse argv and config files.

    Returns the ConfigOpts, or None after printing a one-line error for a
    bad command line or config file (the caller exits 2).
    """
    conf = service.make_conf()
    conf.register_cli_opt(cfg.SubCommandOpt('command', title='commands',
                                            handler=add_parsers))
    try:
        service.prepare_service(sys.argv[1:] if argv is None else argv,
                                conf=conf)
    except cfg.Error as exc:
        print('%s: %s' % (prog, exc), file=sys.stderr)
        return None
    return conf
