"""Rule definitions: one YAML file per rule in ``rules/`` (metadata, sources, parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.errors import InputError
from auditor.resources import rules_dir
from auditor.severity import SEVERITIES, SEVERITY_RANK
from auditor.sources import SOURCE_KEYS

__all__ = ["SEVERITIES", "SEVERITY_RANK", "RuleDefinition", "load_catalog", "FAMILIES"]

CATALOG_VERSION = 1

FAMILIES = {
    "SSU": "Self-service sign-up",
    "IDP": "Identity providers",
    "ATT": "User attributes",
    "CON": "API connectors",
    "APP": "Applications",
    "CAP": "Conditional Access",
    "SIG": "Sign-ins",
    "GST": "Guest lifecycle",
}


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str


class Remediation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    portal: str
    graph: str


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: Any
    description: str


class RuleDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Z]{3}\d{3}$")
    title: str
    severity: str
    resourceType: str
    sources: list[str]
    optionalSources: list[str] = Field(default_factory=list)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    rationale: str
    remediation: Remediation
    references: list[Reference] = Field(min_length=1)
    frameworks: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError(f"must be one of {', '.join(SEVERITIES)}")
        return value

    @field_validator("sources", "optionalSources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in SOURCE_KEYS]
        if unknown:
            raise ValueError(f"unknown source(s) {', '.join(unknown)}")
        return value

    @property
    def family(self) -> str:
        return self.id[:3]

    @property
    def family_name(self) -> str:
        return FAMILIES.get(self.family, self.family)

    def default_parameters(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}


def load_rule_file(path: Path) -> RuleDefinition:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a rule file must be a YAML mapping")
    try:
        rule = RuleDefinition.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{path}: field '{where}': {first['msg']}") from None
    if path.stem != rule.id:
        raise InputError(f"{path}: file name must match the rule id {rule.id}")
    return rule


def load_catalog(directory: Path | None = None) -> list[RuleDefinition]:
    """All rule definitions, sorted by id."""
    root = directory or rules_dir()
    rules = [load_rule_file(p) for p in sorted(root.glob("*.yaml"))]
    return sorted(rules, key=lambda r: r.id)
