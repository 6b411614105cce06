"""One streaming pass over the sign-in log into the aggregates the SIG (and CAP001) rules read.

Sign-ins can be millions of lines, so nothing here keeps a list of them: each record is read as a
plain dict (pydantic per record would cost more than the JSON parse itself) and folded into
counters keyed by guest, application and policy. Memory grows with guests and apps, not sign-ins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from auditor.model._base import fold
from auditor.model.graph import ID_PATTERN


@dataclass
class SignInGroup:
    """Counts for one class of sign-ins (e.g. single-factor successes of self-service guests)."""

    count: int = 0
    users: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)
    first: str | None = None
    last: str | None = None

    def add(self, user_id: str, app_key: str, created: str | None) -> None:
        self.count += 1
        self.users[user_id] += 1
        self.apps[app_key] += 1
        if created:
            if self.first is None or created < self.first:
                self.first = created
            if self.last is None or created > self.last:
                self.last = created


@dataclass
class SignInAggregates:
    scanned: int = 0
    guest_sign_ins: int = 0
    single_factor: SignInGroup = field(default_factory=SignInGroup)
    ca_not_applied: SignInGroup = field(default_factory=SignInGroup)
    # policy id -> sign-ins of self-service guests that failed that policy's authentication strength
    strength_failures: dict[str, SignInGroup] = field(default_factory=dict)
    # policy id -> sign-ins where that policy's strength needed methods registered first (not failures)
    strength_registration: dict[str, SignInGroup] = field(default_factory=dict)
    # any failure of a policy (used as CAP001 evidence)
    policy_failures: dict[str, SignInGroup] = field(default_factory=dict)
    # Sign-ins (anyone's) that Conditional Access evaluated, and those of them listing the policies: Graph
    # withholds the list from callers that cannot read Conditional Access data.
    ca_evaluated: int = 0
    ca_with_policies: int = 0
    policy_names: dict[str, str] = field(default_factory=dict)
    strength_names: dict[str, str] = field(default_factory=dict)
    app_names: dict[str, str] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    last_seen: dict[str, str] = field(default_factory=dict)

    @property
    def policy_details_withheld(self) -> bool:
        """Every sign-in with conditionalAccessStatus success/failure has an empty policy list."""
        return self.ca_evaluated > 0 and self.ca_with_policies == 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


Reject = Callable[[int, Any, str], None]  # (line number, the record: a dict or a SignIn, the problem)

# The values Graph (beta) documents for the two fields SIG001 and SIG003 compare against:
# "singleFactorAuthentication " or "notApplied\ud800" must not read as "some other value".
_REQUIREMENTS = frozenset({"singlefactorauthentication", "multifactorauthentication"})
_CA_STATUSES = frozenset({"success", "failure", "notapplied", "unknownfuturevalue"})


def _problem(record: dict[str, Any]) -> str | None:
    """Why a guest's sign-in cannot be judged: a field the SIG rules read that Graph (beta) always
    returns is missing, of another type, or not a value Graph documents. Such a record must not count
    as "no finding". (Written for speed: it runs once per guest sign-in.)"""
    if type(record.get("createdDateTime")) is not str:
        return "field 'createdDateTime': expected a string"
    status = record.get("status")
    if type(status) is not dict:
        return "field 'status': expected an object"
    if type(status.get("errorCode")) is not int:
        return "field 'status.errorCode': expected an integer"
    requirement = record.get("authenticationRequirement")
    if type(requirement) is not str or requirement.casefold() not in _REQUIREMENTS:
        return f"field 'authenticationRequirement': {requirement!r:.60} is not a value Graph documents"
    ca_status = record.get("conditionalAccessStatus")
    if type(ca_status) is not str or ca_status.casefold() not in _CA_STATUSES:
        return f"field 'conditionalAccessStatus': {ca_status!r:.60} is not a value Graph documents"
    applied = record.get("appliedConditionalAccessPolicies")
    if type(applied) is not list:
        return "field 'appliedConditionalAccessPolicies': expected a list"
    for index, item in enumerate(applied):
        if type(item) is not dict or type(item.get("id")) is not str or type(item.get("result")) is not str:
            return f"field 'appliedConditionalAccessPolicies.{index}': expected an object with string id and result"
        strength = item.get("authenticationStrength")
        if strength is not None and type(strength) is not dict:
            return f"field 'appliedConditionalAccessPolicies.{index}.authenticationStrength': expected an object"
    return None


class AppliedPolicy(msgspec.Struct):
    id: str
    result: str
    displayName: Any = None
    authenticationStrength: dict[str, Any] | None = None


class Status(msgspec.Struct):
    errorCode: int


class SignIn(msgspec.Struct):
    """A sign-in of the usual shape, decoded with only the fields the fold reads (the reader's typed
    decoding skips the rest). Every field :func:`_problem` requires of a guest's sign-in is required
    here with its type, and the source's record keys (``id``, ``createdDateTime``, ``userId``) are
    required and not null, so a record of this type passes both checks except for the two value
    checks :func:`_value_problem` makes; any other record comes as a dict and takes the dict path."""

    id: str
    createdDateTime: str
    userId: str
    status: Status
    authenticationRequirement: str
    conditionalAccessStatus: str
    appliedConditionalAccessPolicies: list[AppliedPolicy]
    appId: Any = None
    appDisplayName: Any = None
    userPrincipalName: Any = None
    userDisplayName: Any = None


SIGN_IN_DECODER = msgspec.json.Decoder(SignIn)


def _value_problem(record: SignIn) -> str:
    """:func:`_problem` for a typed record whose requirement or status is not a value Graph documents
    (the only checks its type leaves): the same message."""
    if record.authenticationRequirement.casefold() not in _REQUIREMENTS:
        return f"field 'authenticationRequirement': {record.authenticationRequirement!r:.60} is not a value Graph documents"
    return f"field 'conditionalAccessStatus': {record.conditionalAccessStatus!r:.60} is not a value Graph documents"


STRENGTH_FAILURES = frozenset({"cannotsatisfy", "cannotsatisfyduetocombinationconfiguration"})
STRENGTH_REGISTRATION = frozenset({"singleregistrationrequired", "multipleregistrationsrequired"})
_CA_EVALUATED = frozenset({"success", "failure"})


def _applied_policy(agg: SignInAggregates, policy_id: str, name: Any, result: str, strength: Any, user_id: str,
                    app_key: str, created: str) -> None:
    """Fold one applied policy of a guest's sign-in. This runs for every applied policy of every guest
    sign-in: the common cases (a plain "success", no strength) are decided with one lookup each."""
    failed = result == "failure" or result.casefold() == "failure"
    if isinstance(strength, dict):
        outcome = fold(strength.get("authenticationStrengthResult"))
        if not failed and outcome not in STRENGTH_REGISTRATION:
            return
    elif failed:
        outcome = ""
    else:
        return
    policy_id = policy_id.casefold()
    if not policy_id:
        return
    agg.policy_names.setdefault(policy_id, _text(name) or policy_id)
    if failed:
        agg.policy_failures.setdefault(policy_id, SignInGroup()).add(user_id, app_key, created)
    # Only "cannot satisfy" is a strength failure; a policy that failed on another control, or a
    # strength that first asks the guest to register a method, is not.
    if failed and outcome in STRENGTH_FAILURES:
        agg.strength_failures.setdefault(policy_id, SignInGroup()).add(user_id, app_key, created)
    elif outcome in STRENGTH_REGISTRATION:
        agg.strength_registration.setdefault(policy_id, SignInGroup()).add(user_id, app_key, created)
    if outcome and isinstance(strength, dict):
        agg.strength_names.setdefault(policy_id, _text(strength.get("displayName")) or
                                      _text(strength.get("authenticationStrengthId")) or "")


def aggregate_sign_ins(records: Iterable[tuple[int, dict[str, Any] | SignIn]], guest_ids: set[str],
                       reject: Reject | None = None) -> SignInAggregates:
    """Fold sign-ins (``(line number, record)``) of the given self-service guests (by user id) into
    aggregates; a record that cannot be judged is passed to ``reject`` with the reason instead.
    A record is a raw dict, or a :class:`SignIn` when the reader decoded it typed (the usual case)."""
    agg = SignInAggregates()
    guest_keys = {g.casefold() for g in guest_ids}
    # The typed path comes first and is written for speed (it runs once per sign-in): names bound
    # locally, each user id matched against ID_PATTERN once (a guest signs in often). It is the
    # dict path below, field for field, on attributes.
    valid_ids: set[str] = set()
    fullmatch = ID_PATTERN.fullmatch
    app_names, user_names, last_seen = agg.app_names, agg.user_names, agg.last_seen
    single_factor, ca_not_applied = agg.single_factor, agg.ca_not_applied
    for lineno, record in records:
        agg.scanned += 1
        if type(record) is SignIn:
            if not agg.ca_with_policies and record.conditionalAccessStatus.casefold() in _CA_EVALUATED:
                # Only until one sign-in shows its policies: then the details are not withheld.
                agg.ca_evaluated += 1
                if record.appliedConditionalAccessPolicies:
                    agg.ca_with_policies += 1
            user_id = record.userId
            if user_id not in valid_ids:
                if not fullmatch(user_id):
                    if reject:
                        reject(lineno, record, "field 'userId': expected a user id (a GUID string)")
                    continue
                valid_ids.add(user_id)
            user_id = user_id.casefold()
            if user_id not in guest_keys:
                continue
            requirement = record.authenticationRequirement.casefold()
            ca_status = record.conditionalAccessStatus.casefold()
            if requirement not in _REQUIREMENTS or ca_status not in _CA_STATUSES:
                if reject:
                    reject(lineno, record, _value_problem(record))
                continue
            agg.guest_sign_ins += 1
            created = record.createdDateTime
            app_id = record.appId
            app_key = app_id.casefold() if type(app_id) is str else ""
            if app_key and app_key not in app_names:
                app_names[app_key] = _text(record.appDisplayName) or app_id
            if user_id not in user_names:
                user_names[user_id] = _text(record.userPrincipalName) or _text(record.userDisplayName) or user_id
            if created > last_seen.get(user_id, ""):
                last_seen[user_id] = created
            if record.status.errorCode == 0:
                if requirement == "singlefactorauthentication":
                    single_factor.add(user_id, app_key, created)
                if ca_status == "notapplied":
                    ca_not_applied.add(user_id, app_key, created)
            for applied in record.appliedConditionalAccessPolicies:
                if applied.result == "success" and applied.authenticationStrength is None:
                    continue
                _applied_policy(agg, applied.id, applied.displayName, applied.result, applied.authenticationStrength,
                                user_id, app_key, created)
            continue
        assert isinstance(record, dict)
        if not agg.ca_with_policies and fold(record.get("conditionalAccessStatus")) in _CA_EVALUATED:
            agg.ca_evaluated += 1
            if record.get("appliedConditionalAccessPolicies"):
                agg.ca_with_policies += 1
        raw_id = record.get("userId")
        if not isinstance(raw_id, str) or not ID_PATTERN.fullmatch(raw_id):
            # Whose sign-in it is cannot be told: it may be a guest's.
            if reject:
                reject(lineno, record, "field 'userId': expected a user id (a GUID string)")
            continue
        if raw_id.casefold() not in guest_keys:
            continue
        problem = _problem(record)
        if problem:
            if reject:
                reject(lineno, record, problem)
            continue
        user_id = raw_id.casefold()
        agg.guest_sign_ins += 1
        created = record["createdDateTime"]
        app_id = _text(record.get("appId")) or ""
        app_key = app_id.casefold()
        if app_key and app_key not in agg.app_names:
            agg.app_names[app_key] = _text(record.get("appDisplayName")) or app_id
        if user_id not in agg.user_names:
            agg.user_names[user_id] = (_text(record.get("userPrincipalName")) or _text(record.get("userDisplayName"))
                                       or user_id)
        if created > agg.last_seen.get(user_id, ""):
            agg.last_seen[user_id] = created
        succeeded = record["status"]["errorCode"] == 0
        if succeeded and fold(record["authenticationRequirement"]) == "singlefactorauthentication":
            agg.single_factor.add(user_id, app_key, created)
        if succeeded and fold(record["conditionalAccessStatus"]) == "notapplied":
            agg.ca_not_applied.add(user_id, app_key, created)
        for applied in record["appliedConditionalAccessPolicies"]:  # each an object with string id/result
            _applied_policy(agg, applied["id"], applied.get("displayName"), applied["result"],
                            applied.get("authenticationStrength"), user_id, app_key, created)
    return agg
