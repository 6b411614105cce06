"""GST001: inactivity of self-service sign-up guests, measured against the snapshot's collectedAt."""

from graphdata import user

# collectedAt of the test snapshots is 2026-11-01T06:00:00Z (graphdata.COLLECTED_AT)
SEEN_100_DAYS_AGO = "2026-07-24T06:00:00Z"
SEEN_10_DAYS_AGO = "2026-10-22T06:00:00Z"
LONG_AGO = "2025-03-01T00:00:00Z"


def test_gst001_fires_for_a_guest_last_seen_100_days_before_collection(audit_rule):
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", name="Old Partner", last_sign_in=SEEN_100_DAYS_AGO,
                  created=LONG_AGO),
             user("bbbbbbbb-0000-4000-8000-000000000002", last_sign_in=SEEN_10_DAYS_AGO, created=LONG_AGO)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["aaaaaaaa-0000-4000-8000-000000000001"]
    finding = findings[0]
    assert (finding.resource.type, finding.resource.displayName) == ("user", "Old Partner")
    assert finding.evidence["lastSignIn"] == SEEN_100_DAYS_AGO
    assert finding.evidence["daysInactive"] == 100
    assert finding.evidence["identityIssuers"] == ["mail"]
    assert finding.evidence["accountEnabled"] is True


def test_gst001_never_signed_in_uses_creation_date(audit_rule):
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", last_sign_in=None, created=LONG_AGO),
             user("bbbbbbbb-0000-4000-8000-000000000002", last_sign_in=None, created=SEEN_10_DAYS_AGO)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert [f.resource.id for f in findings] == ["aaaaaaaa-0000-4000-8000-000000000001"]
    assert findings[0].evidence["lastSignIn"] is None and findings[0].evidence["neverSignedIn"] is True
    assert findings[0].evidence["createdDateTime"] == LONG_AGO


def test_gst001_sentinel_dates_mean_never(audit_rule):
    sentinel = user("aaaaaaaa-0000-4000-8000-000000000001", created=LONG_AGO)
    sentinel["signInActivity"] = {"lastSignInDateTime": "0001-01-01T00:00:00Z",
                                  "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z"}
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=[sentinel])
    assert outcome.outcome == "fail" and findings[0].evidence["neverSignedIn"] is True


def test_gst001_passes_for_recent_guests(audit_rule):
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", last_sign_in=SEEN_10_DAYS_AGO, created=LONG_AGO)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert outcome.outcome == "pass" and findings == []


def test_gst001_days_parameter(audit_rule):
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", last_sign_in="2026-09-01T06:00:00Z", created=LONG_AGO)]
    assert audit_rule("GST001", selfServiceSignUpUsers=users)[0].outcome == "pass"
    outcome, findings = audit_rule("GST001", parameters={"days": 30}, selfServiceSignUpUsers=users)
    assert outcome.outcome == "fail" and findings[0].evidence["daysInactive"] == 61


def test_gst001_never_judges_invited_guests(audit_rule):
    # The source is filtered on creationType eq 'SelfServiceSignUp': an invited guest in it is not what
    # Graph returned. It is set aside (never reported as an inactive self-service guest), and the rule
    # cannot conclude over a file that holds it.
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", last_sign_in=None, created=LONG_AGO,
                  creation_type="Invitation")]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "creationType" in outcome.reason


def test_gst001_not_evaluated_without_sign_in_activity(audit_rule):
    users = [user("aaaaaaaa-0000-4000-8000-000000000001", created=LONG_AGO, with_activity=False)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert outcome.outcome == "notEvaluated" and findings == []
    assert "AuditLog.Read.All" in outcome.reason and "P1" in outcome.reason


# --- the last *successful* sign-in decides; the manifest says whether signInActivity was collected -----

def _guest(user_id, created=LONG_AGO, **activity):
    item = user(user_id, created=created, with_activity=False)
    if activity:
        item["signInActivity"] = {"lastSignInRequestId": "r", "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z",
                                  **activity}
    return item


COLLECTED = {"selfServiceSignUpUsers": {"signInActivity": True}}


def test_gst001_failed_attempts_alone_are_not_activity(audit_rule):
    sprayed = _guest("aaaaaaaa-0000-4000-8000-000000000001", lastSignInDateTime=SEEN_10_DAYS_AGO,
                     lastSuccessfulSignInDateTime=SEEN_100_DAYS_AGO)
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=[sprayed], manifest_extra=COLLECTED)
    assert outcome.outcome == "fail"
    evidence = findings[0].evidence
    assert (evidence["lastSignIn"], evidence["activityField"]) == (SEEN_100_DAYS_AGO, "lastSuccessfulSignInDateTime")
    assert evidence["lastAttempt"] == SEEN_10_DAYS_AGO and evidence["daysInactive"] == 100


def test_gst001_recent_successful_sign_in_is_activity(audit_rule):
    active = _guest("aaaaaaaa-0000-4000-8000-000000000001", lastSignInDateTime=SEEN_100_DAYS_AGO,
                    lastSuccessfulSignInDateTime=SEEN_10_DAYS_AGO)
    assert audit_rule("GST001", selfServiceSignUpUsers=[active], manifest_extra=COLLECTED)[0].outcome == "pass"


def test_gst001_null_successful_sign_in_means_none_even_with_recent_attempts(audit_rule):
    never = _guest("aaaaaaaa-0000-4000-8000-000000000001", lastSignInDateTime=SEEN_10_DAYS_AGO,
                   lastSuccessfulSignInDateTime=None)
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=[never], manifest_extra=COLLECTED)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["neverSignedIn"] is True
    assert "has no successful sign-in on record" in findings[0].message


def test_gst001_falls_back_to_last_sign_in_only_when_the_successful_one_is_absent(audit_rule):
    older = _guest("aaaaaaaa-0000-4000-8000-000000000001", lastSignInDateTime=SEEN_10_DAYS_AGO)
    outcome, _ = audit_rule("GST001", selfServiceSignUpUsers=[older], manifest_extra=COLLECTED)
    assert outcome.outcome == "pass"
    assert "1 guest(s) carry no lastSuccessfulSignInDateTime" in outcome.reason


def test_gst001_collected_with_activity_but_absent_on_the_user_means_never(audit_rule):
    users = [_guest("aaaaaaaa-0000-4000-8000-000000000001"),
             _guest("bbbbbbbb-0000-4000-8000-000000000002", created=SEEN_10_DAYS_AGO)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users, manifest_extra=COLLECTED)
    assert outcome.outcome == "fail"
    assert [f.resource.id for f in findings] == ["aaaaaaaa-0000-4000-8000-000000000001"]
    assert "never signed in (or not since April 2020)" in findings[0].message
    assert findings[0].evidence["createdDateTime"] == LONG_AGO


def test_gst001_manifest_says_collected_without_activity(audit_rule):
    users = [_guest("aaaaaaaa-0000-4000-8000-000000000001", lastSuccessfulSignInDateTime=SEEN_100_DAYS_AGO)]
    for extra in ({"signInActivity": False},
                  {"omitted": {"signInActivity": {"httpStatus": 403, "code": "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                                  "message": "Neither tenant is B2C or tenant doesn't have premium license"}}}):
        outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users,
                                       manifest_extra={"selfServiceSignUpUsers": extra})
        assert outcome.outcome == "notEvaluated" and findings == [], extra
        assert "AuditLog.Read.All" in outcome.reason


def test_gst001_without_a_manifest_statement_infers_from_the_records_and_says_so(audit_rule):
    users = [_guest("aaaaaaaa-0000-4000-8000-000000000001"),
             _guest("bbbbbbbb-0000-4000-8000-000000000002", lastSuccessfulSignInDateTime=SEEN_10_DAYS_AGO)]
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=users)
    assert outcome.outcome == "fail" and [f.resource.id for f in findings] == ["aaaaaaaa-0000-4000-8000-000000000001"]
    assert "inferred from the records (some carry it)" in outcome.reason


def test_gst001_disabled_guests_are_not_reported(audit_rule):
    disabled = _guest("aaaaaaaa-0000-4000-8000-000000000001", lastSuccessfulSignInDateTime=SEEN_100_DAYS_AGO)
    disabled["accountEnabled"] = False
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=[disabled], manifest_extra=COLLECTED)
    assert outcome.outcome == "pass" and findings == []


def test_gst001_reads_microsofts_documented_sign_in_activity_shape(audit_rule):
    import json
    from pathlib import Path

    body = json.loads((Path(__file__).parent / "data" / "users-list-signinactivity.json").read_text())
    # The documented example predates lastSuccessfulSignInDateTime: the older fields stand in, with a note.
    guest = {**_guest("aaaaaaaa-0000-4000-8000-000000000001"), "signInActivity": body["value"][1]["signInActivity"]}
    outcome, findings = audit_rule("GST001", selfServiceSignUpUsers=[guest], manifest_extra=COLLECTED)
    assert outcome.outcome == "fail"
    assert findings[0].evidence["lastSignIn"] == "2021-07-29T17:53:42Z"  # the later of interactive/non-interactive
    assert findings[0].evidence["activityField"] == "lastSignInDateTime"
    assert "carry no lastSuccessfulSignInDateTime" in outcome.reason
