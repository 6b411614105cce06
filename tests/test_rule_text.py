"""Rule text a reviewer can check against its references: practice is labelled as practice, and
remediations use the current Graph requests."""

import pytest

from auditor.catalog import load_catalog
from auditor.resources import rules_dir

PRACTITIONER_URL = "https://www.chanceofsecurity.com/post/go-with-the-flow-mastering-microsoft-entra-user-flows"


@pytest.mark.parametrize("rule_id", ["ATT001", "ATT002", "ATT003", "IDP003"])
def test_pitfalls_from_practice_cite_the_practitioner_article_and_say_so(rule_id: str) -> None:
    rule = load_catalog().get(rule_id)
    assert rule is not None
    assert PRACTITIONER_URL in [ref.url for ref in rule.references]
    assert "practice" in rule.rationale and "Markdanner" in rule.rationale
    # ...and beside it the closest Microsoft page
    assert rule.references[0].url.startswith("https://learn.microsoft.com/")


def test_con001_presents_certificates_as_our_assessment_not_microsofts() -> None:
    rationale = load_catalog().get("CON001").rationale  # type: ignore[union-attr]
    assert "We rate the certificate as the stronger option" in rationale
    assert "two ways" in rationale and "leaves the choice to you" in rationale


def test_idp002_removes_providers_through_user_flow_identity_providers() -> None:
    graph = load_catalog().get("IDP002").remediation.graph  # type: ignore[union-attr]
    assert "/userFlowIdentityProviders/{provider-id}/$ref" in graph
    assert "DELETE https://graph.microsoft.com/v1.0/identity/b2xUserFlows/{id}/identityProviders/" not in graph


def test_rule_files_do_not_cite_the_specification() -> None:
    for path in rules_dir().glob("*.yaml"):
        assert "SPEC" not in path.read_text(encoding="utf-8"), path.name
