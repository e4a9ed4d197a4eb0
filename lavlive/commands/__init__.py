"""One module per `lavlive` subcommand; each exposes `add_parser(subparsers)` and `run(args)`."""
