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
