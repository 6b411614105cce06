"""``flowaudit permissions``: permissions per source, derived from the sources table and the rule catalog."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from auditor.catalog import load_catalog
from auditor.cli import cli
from auditor.sources import SOURCE_KEYS


def test_json_lists_every_source_with_the_rules_that_need_it() -> None:
    result = CliRunner().invoke(cli, ["permissions", "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    rows = {row["source"]: row for row in document["sources"]}
    assert list(rows) == list(SOURCE_KEYS)
    for rule in load_catalog():
        for key in rule.sources:
            assert rule.id in rows[key]["rules"]
        for key in rule.optionalSources:
            assert rule.id in rows[key]["optionalFor"]
    assert rows["signIns"]["endpoint"].startswith("GET /beta/auditLogs/signIns?$filter=createdDateTime ge ")
    assert "signInEventTypes/any(t: t eq 'interactiveUser')" in rows["signIns"]["endpoint"]
    # one table: the users endpoint shown is the one the collector sends
    assert "$top=500" in rows["selfServiceSignUpUsers"]["endpoint"]
    assert rows["signIns"]["license"] == "Entra ID P1"
    assert "IdentityUserFlow.ReadWrite.All" in rows["b2xUserFlows"]["extraPermissions"]
    assert "AuditLog.Read.All" in document["permissions"] and "User.Read.All" in document["permissions"]


def test_table_names_permissions_and_rules() -> None:
    result = CliRunner().invoke(cli, ["permissions"])
    assert result.exit_code == 0
    assert "authenticationFlowsPolicy" in result.stdout and "Policy.Read.All" in result.stdout
    assert "SSU001" in result.stdout
    assert "admin consent" in result.stdout


def test_permissions_does_not_import_the_graph_sdk() -> None:
    code = ("import sys; from auditor.commands.permissions import render_permissions; render_permissions('json');"
            "print(any(m.split('.')[0] in ('msgraph', 'azure', 'kiota_http', 'httpx') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_catalog_v2_rules_show_under_the_sources_they_read() -> None:
    rows = {row["source"]: row for row in
            json.loads(CliRunner().invoke(cli, ["permissions", "--format", "json"]).stdout)["sources"]}
    expected = {
        "linkedServicePrincipals": ({"APP003", "APP004"}, "Application.Read.All"),
        "accessReviewDefinitions": ({"GUE005"}, "AccessReview.Read.All"),
        "crossTenantAccessPolicy": ({"XTA001"}, "Policy.Read.All"),
        "authorizationPolicy": ({"GUE001", "GUE002", "GUE003"}, "Policy.Read.All"),
        "selfServiceSignUpUsers": ({"GUE004"}, "User.Read.All"),
    }
    for source, (rules, permission) in expected.items():
        assert rules <= set(rows[source]["rules"]), source
        assert rows[source]["permission"] == permission
    assert "GUE005" not in rows["linkedServicePrincipals"]["rules"]
    assert "GUE005" in rows["linkedServicePrincipals"]["optionalFor"]
    assert "Governance" in rows["accessReviewDefinitions"]["license"]
    text = CliRunner().invoke(cli, ["permissions"]).stdout
    block = text.split("linkedServicePrincipals\n", 1)[1].split("\n\n", 1)[0]
    assert "Application.Read.All" in block and "APP003, APP004" in block
    assert "AccessReview.Read.All" in text.split("Grant these application permissions", 1)[1]
