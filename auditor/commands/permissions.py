"""``flowaudit permissions``: per source, the Graph endpoint, application permissions, licence needs and
the rules that depend on it (derived from the rule catalog, so new rules show up by themselves).

Deliberately free of msgraph/azure imports: this is an offline command.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.catalog import load_catalog
from auditor.sources import SOURCES


def permission_rows() -> list[dict[str, Any]]:
    catalog = load_catalog()
    rows = []
    for source in SOURCES:
        rows.append({
            "source": source.key,
            "endpoint": source.endpoint,
            "permission": source.permission,
            "extraPermissions": list(source.extra_permissions),
            "license": source.license,
            "note": source.note,
            "rules": [r.id for r in catalog if source.key in r.sources],
            "optionalFor": [r.id for r in catalog if source.key in r.optionalSources],
        })
    return rows


def all_permissions(rows: list[dict[str, Any]]) -> list[str]:
    names = {row["permission"] for row in rows}
    for row in rows:
        names.update(row["extraPermissions"])
    return sorted(names)


def render_permissions(fmt: str) -> str:
    rows = permission_rows()
    if fmt == "json":
        document = {"sources": rows, "permissions": all_permissions(rows)}
        return json.dumps(document, indent=2) + "\n"
    lines = []
    for row in rows:
        lines.append(row["source"])
        lines.append(f"  endpoint:   {row['endpoint']}")
        perms = row["permission"] + (f" (+ {', '.join(row['extraPermissions'])})" if row["extraPermissions"] else "")
        lines.append(f"  permission: {perms}")
        if row["license"]:
            lines.append(f"  licence:    {row['license']}")
        if row["note"]:
            lines.append(f"  note:       {row['note']}")
        rules = ", ".join(row["rules"]) or "-"
        if row["optionalFor"]:
            rules += f" (optional for {', '.join(row['optionalFor'])})"
        lines.append(f"  rules:      {rules}")
        lines.append("")
    lines.append("Grant these application permissions (Microsoft Graph), then admin consent:")
    lines.append("  " + ", ".join(all_permissions(rows)))
    return "\n".join(lines) + "\n"
