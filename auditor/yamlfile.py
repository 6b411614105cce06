"""Read a YAML input file safely, naming the file on any failure (config and waiver files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError


class _NoTimestampLoader(yaml.SafeLoader):
    """Safe loader that keeps dates as strings, so a bad date is reported with its entry."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def safe_load_yaml(path: Path, what: str) -> Any:
    """Read a YAML file safely (dates stay strings), naming the file on any failure."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read {what}: {exc}") from None
    try:
        return yaml.load(text, Loader=_NoTimestampLoader)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
