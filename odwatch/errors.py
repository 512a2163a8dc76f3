"""Errors meant for a person: the CLI and the dashboard show their message, never a traceback."""


class UserError(Exception):
    """Something the user can fix: a bad path, a bad option, a missing file."""
