"""``junit.xml``: rule outcomes as tests, for CI systems that show JUnit results.

A test suite per rule family; a test case per rule × resource. The file agrees with the exit code:
it is rendered with the gate the audit ran with (``result.gate``; the defaults for results that
carry none), so a CI test tab shows as failures exactly what failed the run:

- open finding that gates (at or above ``--fail-on``; with ``--fail-on-new`` only new ones) → failure
  (message and remediation);
- open finding that does not gate → skipped, its message saying why ("below --fail-on high"), with
  ``severity`` and ``gate`` properties: still listed, never a red test on a run that passed;
- waived finding → passed with a ``waiver`` property;
- passing rule → one passed case;
- rule not evaluated → one skipped case with the reason, or an error when ``--require-complete``
  made it fail the run; rule not applicable → one skipped case.

Written with the standard library's ElementTree: the ``junit-xml`` package is unmaintained, and
the format needs nothing beyond elements and attributes. Tenant text may hold characters XML 1.0
cannot carry (control characters); they are replaced so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from auditor._format.interface import Formatter
from auditor.catalog import load_catalog
from auditor.gate import GateView
from auditor.redact import scrub
from auditor.result import AuditResult, Finding, RuleOutcome

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(scrub(str(value)) if value is not None else ""))


def _remediation(rule: RuleOutcome, finding: Finding) -> str:
    remediation = finding.remediation or rule.remediation
    parts = [finding.message, ""]
    if remediation.portal:
        parts += ["Remediation (portal):", remediation.portal, ""]
    if remediation.graph:
        parts += ["Remediation (Graph):", remediation.graph, ""]
    if rule.references:
        parts += ["References:"] + [f"- {r.title}: {r.url}" for r in rule.references]
    return "\n".join(parts).strip() + "\n"


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": xml_text(classname), "name": xml_text(name), "time": "0"})


def _resource_name(finding: Finding) -> str:
    resource = finding.resource
    if resource.displayName and resource.displayName != resource.id:
        return f"{resource.displayName} ({resource.type} {resource.id})"
    return f"{resource.type} {resource.id}"


def build_junit(result: AuditResult) -> ET.Element:
    findings: dict[str, list[Finding]] = {}
    for f in result.findings:
        findings.setdefault(f.ruleId, []).append(f)
    families: dict[str, list[RuleOutcome]] = {}
    for rule in sorted(result.rules, key=lambda r: r.id):
        families.setdefault(rule.family, []).append(rule)
    catalog = load_catalog()
    gate = GateView.of(result.gate)
    root = ET.Element("testsuites", {"name": "flowaudit", "timestamp": result.generatedAt[:19]})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for family in sorted(families, key=lambda f: (catalog.family_order(f), f)):
        name = families[family][0].familyName or catalog.family_name(family)
        suite = ET.SubElement(root, "testsuite", {"name": f"{family} {name}"})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for rule in families[family]:
            title = f"{rule.id} {rule.title}"
            if rule.outcome in ("notEvaluated", "notApplicable"):
                case = _case(suite, rule.id, title)
                label = "not evaluated" if rule.outcome == "notEvaluated" else "not applicable"
                message = xml_text(f"{label}: {rule.reason or 'no reason recorded'}")
                counts["tests"] += 1
                if gate.fails_incomplete(rule):  # --require-complete: this rule failed the run (exit 3)
                    error = ET.SubElement(case, "error", {"message": message, "type": "notEvaluated"})
                    error.text = xml_text("\n".join(["--require-complete: a rule that could not be evaluated "
                                                      "fails the audit.", *rule.actions]) + "\n")
                    counts["errors"] += 1
                else:
                    ET.SubElement(case, "skipped", {"message": message})
                    counts["skipped"] += 1
                continue
            rule_findings = findings.get(rule.id, [])
            if not rule_findings:
                _case(suite, rule.id, f"{title}: pass")
                counts["tests"] += 1
                continue
            for f in rule_findings:
                case = _case(suite, rule.id, _resource_name(f))
                counts["tests"] += 1
                waiver = f.waiver
                if f.status == "waived" and waiver is not None:
                    props = ET.SubElement(case, "properties")
                    ET.SubElement(props, "property", {"name": "waiver", "value": xml_text(
                        f"{waiver.justification} (owner {waiver.owner or '-'}, expires {waiver.expires})")})
                    continue
                note = f"Waiver expired on {waiver.expires}.\n\n" if waiver is not None and waiver.expired else ""
                if gate.gates(f):
                    failure = ET.SubElement(case, "failure", {"message": xml_text(f.message), "type": f.severity})
                    failure.text = xml_text(note + _remediation(rule, f))
                    counts["failures"] += 1
                    continue
                # listed, but not a failure: the gate passed over it, so the test tab must too
                props = ET.SubElement(case, "properties")
                ET.SubElement(props, "property", {"name": "severity", "value": f.severity})
                ET.SubElement(props, "property", {"name": "gate", "value": gate.describe()})
                skipped = ET.SubElement(case, "skipped", {"message": xml_text(
                    f"open {f.severity} finding, not gating ({_why_not(gate, f)}): {f.message}")})
                skipped.text = xml_text(note + _remediation(rule, f))
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    return root


def _why_not(gate: GateView, finding: Finding) -> str:
    if gate.fail_on == "none":
        return "--fail-on none"
    if gate.fail_on_new and finding.baseline != "new":
        return "--fail-on-new and it is not new"
    return f"below --fail-on {gate.fail_on}"


class JunitFormat(Formatter):
    filename = "junit.xml"

    def format(self, result: AuditResult) -> bytes:
        root = build_junit(result)
        ET.indent(root)
        return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"
