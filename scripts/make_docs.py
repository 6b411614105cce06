"""Generate the parts of the documentation that come from the rule catalog, so they cannot go stale.

    .venv/bin/python scripts/make_docs.py            # rewrite README.md's rule table and docs/rules.md
    .venv/bin/python scripts/make_docs.py --check    # exit 1 when either is out of date (tests run this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auditor.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RULES_DOC = ROOT / "docs" / "rules.md"
BEGIN, END = "<!-- rule-table:begin (make docs) -->", "<!-- rule-table:end -->"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rule_table(catalog: Catalog) -> str:
    lines = ["| id | severity | title |", "|---|---|---|"]
    lines += [f"| [{r.id}](docs/rules.md#{r.id.lower()}) | {r.severity} | {cell(r.title)} |" for r in catalog]
    return "\n".join(lines)


def rules_doc(catalog: Catalog) -> str:
    out = ["# Rule catalog", "",
           f"Catalog version {catalog.version}, {len(catalog)} rules. Generated from `rules/*.yaml` by "
           "`make docs`; `flowaudit rules show ID` prints the same.", ""]
    for family, name in catalog.families.items():
        rules = [r for r in catalog if r.family == family]
        if not rules:
            continue
        out += [f"## {family} — {name}", ""]
        for r in rules:
            out += [f"### {r.id}", "", f"**{cell(r.title)}** · severity **{r.severity}** · resource `{r.resourceType}` "
                    f"· sources {', '.join(f'`{s}`' for s in r.sources)}"
                    + (f" (optional: {', '.join(f'`{s}`' for s in r.optionalSources)})" if r.optionalSources else ""),
                    "", r.rationale.strip(), "", "**Remediation (portal).** " + " ".join(r.remediation.portal.split()),
                    "", "**Remediation (Graph).**", "", "```", r.remediation.graph.strip(), "```", ""]
            if r.parameters:
                out += ["**Parameters.** " + "; ".join(f"`{n}` ({p.type}, default `{p.default}`): {cell(p.description)}"
                                                        for n, p in r.parameters.items()), ""]
            if r.frameworks:
                out += ["**Frameworks.** " + "; ".join(f"{k}: {', '.join(v)}" for k, v in r.frameworks.items()), ""]
            out += ["**References.**", ""] + [f"- [{cell(ref.title)}]({ref.url})" for ref in r.references] + [""]
    return "\n".join(out).rstrip() + "\n"


def with_table(readme: str, table: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{README}: the markers {BEGIN} … {END} are missing")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the generated docs are out of date")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    wanted = {README: with_table(README.read_text(encoding="utf-8"), rule_table(catalog)),
              RULES_DOC: rules_doc(catalog)}
    stale = [p for p, text in wanted.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run 'make docs'", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
