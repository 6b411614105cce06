"""The generated docs: the README rule table and docs/rules.md come from the catalog (make docs).

Whether the committed files are current is checked by `make lint` (scripts/make_docs.py --check), so
adding a rule needs no test edit; these tests check what the generator produces.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from auditor.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_docs  # noqa: E402


def test_rule_table_lists_every_rule_with_its_severity_and_title() -> None:
    catalog = load_catalog()
    table = make_docs.rule_table(catalog).splitlines()
    assert len(table) == 2 + len(catalog)
    for rule, row in zip(catalog, table[2:], strict=True):
        assert row.startswith(f"| [{rule.id}](docs/rules.md#{rule.id.lower()}) | {rule.severity} | ")


def test_rules_doc_has_a_section_per_rule_with_remediation_and_references() -> None:
    catalog = load_catalog()
    doc = make_docs.rules_doc(catalog)
    for rule in catalog:
        section = doc.split(f"### {rule.id}\n", 1)[1].split("\n### ", 1)[0]
        assert "**Remediation (portal).**" in section and "**References.**" in section
        assert all(ref.url in section for ref in rule.references)


def test_check_mode_reports_a_stale_readme(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert make_docs.BEGIN in readme and make_docs.END in readme
    stale = make_docs.with_table(readme, "| id | severity | title |")
    assert stale != make_docs.with_table(readme, make_docs.rule_table(load_catalog()))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_docs.py"), "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "--check" in proc.stdout
