"""``flowaudit collect``: pull every source from Graph into a snapshot."""

from __future__ import annotations

from pathlib import Path

from auditor.requests import CollectRequest


def run_collect_command(request: CollectRequest) -> Path:
    from auditor.collect import collect  # imports msgraph/azure: only when collecting

    return collect(request.connection, request.output, signin_days=request.connection.signin_days,
                   quiet=request.quiet, previous=request.previous,
                   whatif_max_calls=request.connection.whatif_max_calls)
