"""Expected failures, each carrying its exit code and one line for the user.

Exit codes (README "Exit codes"): 2 unusable input or output, 3 the audit could not be completed,
1 findings at or above ``--fail-on`` and nothing else, 0 otherwise. Commands raise these; the one
top-level handler in :mod:`auditor.cli` prints the line and exits with the code. Anything else that
escapes is an internal error (exit 3).
"""

from __future__ import annotations

EXIT_FINDINGS = 1
EXIT_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class FlowauditError(Exception):
    """An expected failure: the CLI prints ``flowaudit: <message>`` on one line and exits ``exit_code``."""

    exit_code = EXIT_INCOMPLETE


class InputError(FlowauditError):
    """Invalid input: a bad option, an unreadable or malformed snapshot/config/waiver/result/plan file."""

    exit_code = EXIT_INPUT


class UsageError(InputError):
    """The command line (with the config file) asks for something that cannot run: no rule, no format."""


class OutputError(InputError):
    """An output path that cannot be written: a file where a directory is needed, read-only, no space."""


class IncompleteAuditError(FlowauditError):
    """The audit could not be completed (authentication, Graph unreachable, --require-complete)."""

    exit_code = EXIT_INCOMPLETE


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt so temporary files are removed on the way out."""
