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

import argparse
import sys
import textwrap

from oslo_config import cfg

from vitrage_persistor import service


class DescribedSubparsers:
    """``add_subparsers()``'s action, giving every sub-command a description.

    argparse shows a sub-command's ``help`` in its parent's list only;
    ``PROG CMD --help`` shows its ``description``, which nobody sets
    twice. This copies one to the other, at every level (``db upgrade``).
    """

    def __init__(self, action, seen: list | None = None):
        object.__setattr__(self, '_action', action)
        object.__setattr__(self, 'seen', [] if seen is None else seen)

    def add_parser(self, name, **kwargs):
        if 'help' in kwargs:
            kwargs.setdefault('description', kwargs['help'])
        self.seen.append((name, kwargs.get('help') or ''))
        parser = self._action.add_parser(name, **kwargs)
        add_subparsers = parser.add_subparsers

        def described(**kw):
            return DescribedSubparsers(add_subparsers(**kw))
        parser.add_subparsers = described
        return parser

    def __getattr__(self, name):
        return getattr(self._action, name)

    def __setattr__(self, name, value):
        setattr(self._action, name, value)


def _usage(prog: str, add_parsers) -> str:
    """A usage text that lists the commands, ahead of oslo's options.

    argparse prints the commands' group after every option that
    oslo.log registers, 40 lines down; the usage text comes first and
    is printed as written.
    """
    probe = DescribedSubparsers(argparse.ArgumentParser(
        prog=prog, add_help=False).add_subparsers())
    add_parsers(probe)
    width = max(len(name) for name, _ in probe.seen) + 2
    lines = ['%s [-h] [--config-file PATH] [oslo options] COMMAND ...'
             % prog, '', 'commands:']
    for name, text in probe.seen:
        lines += textwrap.wrap(text, 79, initial_indent='  ' + name.ljust(
            width), subsequent_indent=' ' * (width + 2)) or ['  ' + name]
    return '\n'.join(lines)


def parse_subcommand(prog: str, add_parsers,
                     argv: list[str] | None) -> cfg.ConfigOpts | None:
    """Register the ``command`` sub-parsers, parse argv and config files.

    The sub-commands are listed first in ``--help`` (as positional
    arguments, ahead of oslo's logging options), and the calling
    module's docstring is the description. Returns the ConfigOpts, or
    None after printing a one-line error for a bad command line or
    config file (the caller exits 2).
    """
    conf = service.make_conf()
    conf.register_cli_opt(cfg.SubCommandOpt(
        'command', title='commands',
        handler=lambda sub: add_parsers(DescribedSubparsers(sub)),
        help='"%s COMMAND --help" tells more' % prog))
    module = sys.modules.get(getattr(add_parsers, '__module__', ''), None)
    description = (module.__doc__ or '').strip() if module else None
    try:
        service.prepare_service(sys.argv[1:] if argv is None else argv,
                                conf=conf, description=description,
                                usage=_usage(prog, add_parsers))
    except cfg.Error as exc:
        print('%s: %s' % (prog, exc), file=sys.stderr)
        return None
    return conf
