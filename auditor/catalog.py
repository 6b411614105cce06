"""The rule catalog: one YAML file per rule in ``rules/`` (metadata, sources, typed parameters), and
``rules/families.yaml`` naming the rule families (the three-letter prefix of a rule id).

Parameters are declared with a type and bounds and validated here, once, for every way a value can
arrive (the rule's own default, a config file, the command line).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.errors import InputError
from auditor.resources import rules_dir
from auditor.severity import SEVERITIES
from auditor.sources import SOURCE_KEYS
from auditor.validation import describe_validation

CATALOG_VERSION = 2
FAMILIES_FILE = "families.yaml"


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str


class Remediation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    portal: str
    graph: str


_PY_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float), "string": (str,),
                                          "boolean": (bool,)}


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["integer", "number", "string", "boolean"]
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable for this parameter, or None."""
        wanted = _PY_TYPES[self.type]
        if isinstance(value, bool) and self.type != "boolean" or not isinstance(value, wanted):
            return f"expected {'a whole number' if self.type == 'integer' else 'a ' + self.type}, got {value!r}"
        if not isinstance(value, (int, float)):
            return None
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}, got {value!r}"
        return None

    @model_validator(mode="after")
    def _default_fits(self) -> Parameter:
        problem = self.problem(self.default)
        if problem:
            raise ValueError(f"default: {problem}")
        return self


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

    def default_parameters(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}

    def resolve_parameters(self, overrides: Mapping[str, Any], label: str) -> dict[str, Any]:
        """Defaults with ``overrides`` applied, each validated; ``label`` says where they came from."""
        unknown = sorted(set(overrides) - set(self.parameters))
        if unknown:
            allowed = ", ".join(self.parameters) or "none"
            raise InputError(f"{label}: rule {self.id} has no parameter '{unknown[0]}' (allowed: {allowed})")
        values = self.default_parameters()
        for name, value in overrides.items():
            problem = self.parameters[name].problem(value)
            if problem:
                raise InputError(f"{label}: {self.id}.{name}: {problem}")
            values[name] = value
        return values


@dataclass(frozen=True)
class Catalog:
    rules: tuple[RuleDefinition, ...]
    families: Mapping[str, str]  # prefix -> name, in the order families.yaml lists them
    version: int = CATALOG_VERSION

    def __iter__(self) -> Iterator[RuleDefinition]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def get(self, rule_id: str) -> RuleDefinition | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def family_name(self, family: str) -> str:
        return self.families.get(family, family)

    def family_order(self, family: str) -> int:
        names = list(self.families)
        return names.index(family) if family in names else len(names)

    def check_ids(self, ids: Iterable[str], label: str) -> None:
        unknown = sorted(set(ids) - set(self.ids))
        if unknown:
            raise InputError(f"{label}: unknown rule id(s) {', '.join(unknown)} (see 'flowaudit rules list')")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None


def load_rule_file(path: Path) -> RuleDefinition:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: a rule file must be a YAML mapping")
    try:
        rule = RuleDefinition.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{path}: {describe_validation(exc)}") from None
    if path.stem != rule.id:
        raise InputError(f"{path}: file name must match the rule id {rule.id}")
    return rule


def _load_families(root: Path) -> dict[str, str]:
    path = root / FAMILIES_FILE
    data = _read_yaml(path)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(f"{path}: must map each three-letter family prefix to its name")
    return dict(data)


def load_catalog(directory: Path | None = None) -> Catalog:
    """All rule definitions (sorted by id) and the families; cached for the bundled directory."""
    if directory is None:
        return _bundled_catalog()
    return _load(directory)


@lru_cache(maxsize=1)
def _bundled_catalog() -> Catalog:
    return _load(rules_dir())


def _load(root: Path) -> Catalog:
    families = _load_families(root)
    rules = sorted((load_rule_file(p) for p in root.glob("*.yaml") if p.name != FAMILIES_FILE), key=lambda r: r.id)
    for rule in rules:
        if rule.family not in families:
            raise InputError(f"{root / (rule.id + '.yaml')}: family {rule.family} is not declared in "
                             f"{root / FAMILIES_FILE}")
    return Catalog(rules=tuple(rules), families=families)
