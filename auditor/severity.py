"""Severities, most severe first. Kept free of imports: the CLI's start-up path needs them."""

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES), start=1)}  # info=1 … critical=5
