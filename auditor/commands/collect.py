"""``flowaudit collect``: pull every source from Graph into a snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.connection import ConnectionOptions


def run_collect_command(opts: dict[str, Any]) -> Path:
    from auditor.collect import collect  # imports msgraph/azure: only when collecting

    connection = ConnectionOptions(tenant=opts.get("tenant"), cloud=opts["cloud"], graph_url=opts.get("graph_url"),
                                   auth=opts["auth"])
    return collect(connection, Path(opts["output"]), signin_days=opts["signin_days"], quiet=bool(opts.get("quiet")),
                   previous=opts.get("previous"), whatif_max_calls=opts.get("whatif_max_calls", 400))
