"""The one exception users see: its message is a complete, single-line explanation."""


class LavliveError(Exception):
    """A problem with the user's input or environment; the CLI prints it without a traceback."""
