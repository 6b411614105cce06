"""Every rule's own fixture cases (tests/rules/<ID>/*.yaml), run through the engine on an in-memory tenant."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from graphdata import COLLECTED_AT, DEFAULT_SOURCES, TENANT_ID

from auditor.engine import AuditOptions, load_rules, run_rules
from auditor.model.tenant import Tenant

FIXTURES = Path(__file__).parent / "rules"
EXPECTATIONS = ("fail", "pass", "notEvaluated", "notApplicable")
CASE_KEYS = {"description", "expect", "resources", "reason", "parameters", "collectedAt", "extra", "sources"}


def _cases() -> list[tuple[str, Path]]:
    return [(folder.name, path) for folder in sorted(FIXTURES.iterdir()) if folder.is_dir()
            for path in sorted(folder.glob("*.yaml"))]


def _load(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(case, dict), f"{path}: a case is a mapping"
    assert not set(case) - CASE_KEYS, f"{path}: unknown keys {set(case) - CASE_KEYS}"
    assert case.get("expect") in EXPECTATIONS, f"{path}: expect must be one of {EXPECTATIONS}"
    assert case.get("description"), f"{path}: say what the case shows"
    return case


@pytest.mark.parametrize("rule_id, path", _cases(), ids=lambda v: v if isinstance(v, str) else v.stem)
def test_rule_fixture(rule_id: str, path: Path) -> None:
    case = _load(path)
    moment = str(case.get("collectedAt") or COLLECTED_AT)
    tenant = Tenant.from_records({**DEFAULT_SOURCES, **(case.get("sources") or {})}, tenant_id=TENANT_ID,
                                 collected_at=datetime.fromisoformat(moment.replace("Z", "+00:00")),
                                 extra=case.get("extra"))
    params = {rule_id: case["parameters"]} if case.get("parameters") else {}
    run = run_rules(tenant, AuditOptions(only={rule_id}, parameters=params))
    outcome = run.outcomes[0]
    assert outcome.outcome == case["expect"], f"{path.name}: {case['description']} — got {outcome.outcome}: " \
                                              f"{outcome.reason}"
    if case.get("resources") is not None:
        assert sorted(f.resource.id for f in run.findings) == sorted(case["resources"]), path.name
    if case.get("reason"):
        assert case["reason"] in (outcome.reason or ""), f"{path.name}: reason was {outcome.reason!r}"


def test_every_rule_has_a_failing_and_a_passing_fixture() -> None:
    expected: dict[str, set[str]] = {}
    for rule_id, path in _cases():
        expected.setdefault(rule_id, set()).add(_load(path)["expect"])
    rules = load_rules().catalog
    missing = [f"{r.id} ({', '.join(sorted({'fail', 'pass'} - expected.get(r.id, set())))})"
               for r in rules if not {"fail", "pass"} <= expected.get(r.id, set())]
    assert not missing, f"rules without a fail and a pass fixture in tests/rules/: {', '.join(missing)}"
    assert not set(expected) - set(rules.ids), "fixture folders for rules that do not exist"
