"""The subcommands of ``oimi-conformance``, one module each. A module defines ``add_parser(subparsers)``,
which adds its subparser and sets ``func(args) -> int`` (an exit code of ``exits.py``); ``cli.build_parser``
adds them in the order of ``COMMANDS`` (the order ``--help`` lists them). A new command is a module here
and its name in ``COMMANDS``."""

COMMANDS = ("validate", "run", "sandbox", "diff", "checks", "fuzz", "matrix", "merge", "report")
