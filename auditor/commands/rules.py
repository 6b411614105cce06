"""``flowaudit rules list`` / ``rules show ID``: the catalog as a user reads it."""

from __future__ import annotations

import json
import textwrap

from auditor.catalog import Catalog
from auditor.engine import load_rules
from auditor.errors import InputError


def _catalog() -> Catalog:
    return load_rules().catalog


def list_rules(fmt: str = "table") -> str:
    catalog = _catalog()
    if fmt == "json":
        return json.dumps([{"id": r.id, "title": r.title, "severity": r.severity, "family": catalog.family_name(r.family),
                            "sources": r.sources, "parameters": r.default_parameters()} for r in catalog],
                          indent=2) + "\n"
    width = max(len(r.title) for r in catalog)
    lines = [f"{'ID':7} {'SEVERITY':9} {'TITLE':{width}}  SOURCES"]
    for r in catalog:
        lines.append(f"{r.id:7} {r.severity:9} {r.title:{width}}  {', '.join(r.sources)}")
    return "\n".join(lines) + "\n"


def show_rule(rule_id: str) -> str:
    catalog = _catalog()
    rule = catalog.get(rule_id.strip().upper())
    if rule is None:
        raise InputError(f"unknown rule {rule_id!r} (see 'flowaudit rules list')")

    def block(title: str, text: str) -> list[str]:
        return [title, textwrap.indent(text.strip(), "  "), ""]

    lines = [f"{rule.id}  {rule.title}", f"Severity: {rule.severity}    Family: {catalog.family_name(rule.family)}",
             f"Sources: {', '.join(rule.sources)}" + (f" (optional: {', '.join(rule.optionalSources)})"
                                                      if rule.optionalSources else ""), ""]
    lines += block("Rationale", rule.rationale)
    lines += block("Remediation (portal)", rule.remediation.portal)
    lines += block("Remediation (Graph)", rule.remediation.graph)
    if rule.parameters:
        lines.append("Parameters")
        lines += [f"  {name} ({p.type}) = {p.default!r}  {p.description}" for name, p in rule.parameters.items()]
        lines.append("")
    if rule.frameworks:
        lines.append("Frameworks")
        lines += [f"  {name}: {', '.join(ids)}" for name, ids in rule.frameworks.items()]
        lines.append("")
    lines.append("References")
    lines += [f"  {ref.title}: {ref.url}" for ref in rule.references]
    return "\n".join(lines) + "\n"
