"""Sign-ins are decoded typed (msgspec, only the fields the fold reads) for speed; a line of another
shape falls back to the plain decoding. Whatever the decoding, every sign-in is judged the same: the
same aggregates (the SIG and CAP001 evidence), the same records set aside with the same reasons."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from graphdata import applied_policy, sign_in, user, write_snapshot

from auditor.model.signins import SignIn, aggregate_sign_ins
from auditor.model.tenant import Tenant
from auditor.snapshot import open_snapshot

GUEST = "11111111-1111-4111-8111-111111111111"
OTHER_GUEST = "22222222-2222-4222-8222-222222222222"
MEMBER = "33333333-3333-4333-8333-333333333333"


def _variants() -> list[dict]:
    strong = applied_policy("p-strong", with_strength=True)
    plain = [sign_in(GUEST, sign_in_id=f"ok-{n}") for n in range(3)]
    # a strength that first asks for a method to be registered (not a failure), and one that failed
    # on another control (not a strength failure either)
    register = applied_policy("p-register", result="success", with_strength=True)
    register["authenticationStrength"]["authenticationStrengthResult"] = "singleRegistrationRequired"
    other_control = applied_policy("p-other", with_strength=True)
    other_control["authenticationStrength"]["authenticationStrengthResult"] = "satisfied"
    failing = [sign_in(OTHER_GUEST, sign_in_id="fail-1", applied=[strong, applied_policy("p-mfa")]),
               sign_in(GUEST, sign_in_id="na", ca_status="notApplied", requirement="multiFactorAuthentication"),
               sign_in(GUEST, sign_in_id="reg", applied=[register, other_control,
                                                         applied_policy("p-ok", result="success")])]
    odd = []
    for n, change in enumerate([
        lambda r: r["status"].update(errorCode=True),            # a bool is not an error code
        lambda r: r["status"].update(errorCode=0.0),             # nor a float
        lambda r: r.update(authenticationRequirement="singleFactorAuthentication "),
        lambda r: r.update(conditionalAccessStatus="notApplied\ud800"),  # a lone surrogate (json accepts it)
        lambda r: r.pop("appliedConditionalAccessPolicies"),
        lambda r: r["appliedConditionalAccessPolicies"].append({"id": "p", "result": "failure",
                                                                "authenticationStrength": "strong"}),
        lambda r: r.update(userId="not-a-guest"),               # an id, but nobody's of the guests
        lambda r: r.update(userId=7),
        lambda r: r.pop("createdDateTime"),
        lambda r: r.update(id=None),
        lambda r: r.update(appId=42, appDisplayName=["x"]),      # odd values the fold only displays
        lambda r: r.update(status=None),
    ]):
        record = sign_in(GUEST, sign_in_id=f"odd-{n}", applied=[applied_policy("p-odd")])
        change(record)
        odd.append(record)
    member = sign_in(MEMBER, sign_in_id="member")
    member.pop("status")  # not a guest's: its shape is not judged, as before
    return [*plain, *failing, *odd, member]


def _snapshot(tmp_path: Path) -> Path:
    snap = write_snapshot(tmp_path / "snap", selfServiceSignUpUsers=[user(GUEST), user(OTHER_GUEST)])
    path = snap / "signIns.jsonl.gz"
    records = _variants()
    path.write_bytes(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))
    manifest = json.loads((snap / "manifest.json").read_text())
    manifest["sources"]["signIns"]["count"] = len(records)
    (snap / "manifest.json").write_text(json.dumps(manifest))
    return snap


def test_typed_and_plain_decoding_judge_every_sign_in_the_same(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    tenant = Tenant(open_snapshot(snap))
    typed = tenant.sign_in_aggregates  # the typed path, as an audit reads sign-ins
    typed_damage = tenant.damage("signIns")

    plain_rejects: list[tuple[int, str]] = []
    plain = aggregate_sign_ins(
        ((n, r) for n, r in open_snapshot(snap).iter_numbered("signIns", walked=False) if r.get("id") is not None
         and r.get("createdDateTime") is not None),  # the record-key check, as the reader's dict path does
        {GUEST, OTHER_GUEST}, reject=lambda n, r, why: plain_rejects.append((n, why)))

    assert typed == plain
    assert typed.guest_sign_ins == 7 and typed.single_factor.count == 6 and typed.ca_not_applied.count == 1
    assert set(typed.policy_failures) == {"p-strong", "p-mfa", "p-odd", "p-other"}
    assert set(typed.strength_failures) == {"p-strong"} and set(typed.strength_registration) == {"p-register"}
    assert typed.ca_evaluated > 0 and not typed.policy_details_withheld
    # each record the plain path sets aside is set aside, for the same reason (the first examples are
    # spelled out, the rest counted), and so are the two without a record key
    account = tenant._damage["signIns"]
    assert len(plain_rejects) == 8 and account.records == 8 + 2
    for lineno, reason in plain_rejects[:3]:
        assert any(f"line {lineno} " in m and reason in m for m in typed_damage), (lineno, reason)
    assert any("lacks 'createdDateTime'" in m for m in typed_damage) or account.records > len(account.examples)


def test_a_usual_sign_in_is_decoded_typed_and_an_odd_one_as_it_was_written(tmp_path: Path) -> None:
    snapshot = open_snapshot(_snapshot(tmp_path))
    from auditor.model.signins import SIGN_IN_DECODER

    kinds = [type(record) for _, record in snapshot.iter_typed("signIns", SIGN_IN_DECODER)]
    typed_odd = {2, 6, 10}  # a requirement with a space, another user's id, odd display values
    assert kinds == [SignIn] * 6 + [SignIn if n in typed_odd else dict for n in range(12)] + [dict]
