"""Expected failures, each carrying the exit code of SPEC §3 and one line for the user."""

from __future__ import annotations


class FlowauditError(Exception):
    """An expected failure: the CLI prints ``str(self)`` on one line and exits with ``exit_code``."""

    exit_code = 1


class InputError(FlowauditError):
    """Usage error or invalid input (bad option, malformed snapshot/config/waiver/result file)."""

    exit_code = 2


class IncompleteAuditError(FlowauditError):
    """The audit could not be completed (authentication, Graph unreachable, --require-complete)."""

    exit_code = 3
