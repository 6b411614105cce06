"""The synthetic tenant generator: reproducible, Graph-shaped, and readable by flowaudit at small sizes."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from make_tenant import TenantSize, main, make_tenant

from auditor.model.tenant import Tenant
from auditor.snapshot import open_snapshot

SMALL = TenantSize(guests=300, sign_ins=2_000, flows=4, connectors=3, attributes=6, policies=12, seed=7)


@pytest.fixture(scope="module")
def small_tenant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tenant(tmp_path_factory.mktemp("gen") / "tenant", SMALL)


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(small_tenant: Path, tmp_path: Path) -> None:
    again = make_tenant(tmp_path / "again", SMALL)
    assert _files(again) == _files(small_tenant)
    other = make_tenant(tmp_path / "other", TenantSize(**{**SMALL.__dict__, "seed": 8}))
    assert _files(other)["signIns.jsonl.gz"] != _files(small_tenant)["signIns.jsonl.gz"]


def test_manifest_counts_match_the_requested_sizes(small_tenant: Path) -> None:
    snapshot = open_snapshot(small_tenant)
    sources = snapshot.manifest.sources
    assert all(entry.status == "ok" for entry in sources.values())
    assert sources["selfServiceSignUpUsers"].count == 300
    assert sources["signIns"].count == 2_000
    assert sources["signIns"].file == "signIns.jsonl.gz"
    assert sources["b2xUserFlows"].count == 4
    assert sources["apiConnectors"].count == 3
    assert sources["conditionalAccessPolicies"].count == 12
    assert sum(1 for _ in snapshot.iter_records("signIns")) == 2_000
    with gzip.open(small_tenant / "signIns.jsonl.gz", "rt", encoding="utf-8") as handle:
        assert sum(1 for _ in handle) == 2_000


def test_sign_ins_are_newest_first_within_the_window_and_mix_audiences(small_tenant: Path) -> None:
    snapshot = open_snapshot(small_tenant)
    window = snapshot.manifest.signInWindow
    times = [r["createdDateTime"] for r in snapshot.iter_records("signIns")]
    assert times == sorted(times, reverse=True)
    assert window.from_.strftime("%Y-%m-%dT%H:%M:%SZ") <= times[-1] <= times[0] <= "2026-11-01T06:00:00Z"
    tenant = Tenant(snapshot)
    agg = tenant.sign_in_aggregates
    # Members and invited guests are in the log but are not self-service guests: the model skips them.
    assert agg.scanned == 2_000
    assert 0.75 * 2_000 < agg.guest_sign_ins < 0.95 * 2_000
    assert agg.single_factor.count > 0 and agg.ca_not_applied.count > 0 and agg.strength_failures


def test_guests_include_active_lapsed_and_never_signed_in(small_tenant: Path) -> None:
    tenant = Tenant(open_snapshot(small_tenant))
    users = tenant.self_service_users
    assert len(users) == 300 and tenant.users_have_sign_in_activity
    # GST001 reads the last successful sign-in (a failed attempt is not activity)
    last = {u.id: u.signInActivity.lastSuccessfulSignInDateTime for u in users if u.signInActivity}
    never = [u for u in users if u.id in last and last[u.id] is None]
    recent = [u for u in users if last.get(u.id) and (tenant.collected_at - last[u.id]).days < 30]
    assert 0 < len(never) < 60
    assert len(recent) > 200
    assert {i for u in users for i in u.issuers()} >= {"mail", "google.com", "ExternalAzureAD"}


def test_graph_quirks_are_present(small_tenant: Path) -> None:
    raw = "".join(p.read_text(encoding="utf-8") for p in small_tenant.glob("*.jsonl"))
    assert '"guestOrExternalUserTypes":"internalGuest,b2bCollaborationGuest,b2bCollaborationMember"' in raw
    assert '"@odata.type":"microsoft.graph.builtInIdentityProvider"' in raw  # no leading '#'
    assert '"type":"Google","name":"Google"' in raw  # old provider shape
    assert '"clientSecret":"******"' in raw and '"password":"******"' in raw
    assert '"lastNonInteractiveSignInDateTime":"0001-01-01T00:00:00Z"' in raw
    tenant = Tenant(open_snapshot(small_tenant))
    assert all(f.id.startswith("B2X_1_") for f in tenant.user_flows)
    assert tenant.apps_by_flow, "flows are linked to applications"


def test_command_line_writes_a_snapshot(tmp_path: Path) -> None:
    assert main(["--guests", "5", "--sign-ins", "10", "--flows", "1", "--policies", "2", "--connectors", "1",
                 "--attributes", "1", "--out", str(tmp_path / "cli")]) == 0
    assert open_snapshot(tmp_path / "cli").manifest.sources["signIns"].count == 10
    with pytest.raises(SystemExit):
        main(["--guests", "-1", "--out", str(tmp_path / "bad")])
