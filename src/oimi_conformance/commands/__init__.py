"""Subcommands kept in their own modules. Each module defines ``add_parser(subparsers)``, which adds
one subparser and sets its ``func(args) -> int`` (exit code); ``cli.build_parser`` finds them."""
