"""One exception family whose messages are written for the user.

The CLI prints ``error: <message>`` on one line and exits with ``exit_code``; a traceback is
shown only with ``--debug``.
"""

from __future__ import annotations


class SuiteError(Exception):
    """Base of every error the suite reports to a user. ``str(err)`` is one actionable line."""

    exit_code = 1


class UsageError(SuiteError):
    """The command line or a configuration value is wrong."""

    exit_code = 2


class DataError(SuiteError):
    """A dataset or ground-truth table is missing, corrupt or malformed."""


class ResultFileError(SuiteError):
    """A result file cannot be read, or does not follow the schema."""


class VerificationError(SuiteError):
    """A result file failed verification."""

    exit_code = 3
