"""One function per Conditional Access condition: does it match a guest's ordinary sign-in?

Each returns a :class:`~auditor.conditional_access.verdict.Verdict` whose reasons read as the words a
finding shows ("only on Android and iOS", "group 'Partners' is static: a guest who signs up later is
not a member"). Pure functions over the models; nothing here reads a snapshot.

The sign-in judged is the one of the sign-in matrix: no sign-in, user or insider risk, a device that is
not registered in the tenant, no device-code or authentication-transfer flow, and a location that is
either the internet (inside no named location) or inside exactly one named location.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from auditor.conditional_access.directory import MFA_TRUSTED_IPS, Audience, Directory
from auditor.conditional_access.verdict import YES, Reason, Tri, Verdict, any_of, no, unknown
from auditor.model._base import fold
from auditor.model.conditional_access import (
    CAApplications,
    CAConditions,
    CADevices,
    CALocations,
    CAPlatforms,
    CAUsers,
    ConditionalAccessGroup,
    GuestsOrExternalUsers,
    folded,
)
from auditor.model.signin_matrix import INTERNET

ALL = "all"
ALL_TRUSTED = "alltrusted"
GUESTS = "guestsorexternalusers"
# Self-service sign-up guests are B2B collaboration guests (userType Guest, authenticated externally).
SSSU_GUEST_TYPE = "b2bcollaborationguest"
UNKNOWN_APP = "*"  # stands for "every application linked to the flow" when the links could not be read

PLATFORM_LABELS = {"android": "Android", "ios": "iOS", "windows": "Windows", "macos": "macOS", "linux": "Linux",
                   "windowsphone": "Windows Phone", "all": "every platform"}
CLIENT_LABELS = {"browser": "browser sign-ins", "mobileappsanddesktopclients": "mobile and desktop apps",
                 "exchangeactivesync": "Exchange ActiveSync clients", "eassupported": "Exchange ActiveSync clients",
                 "other": "other (legacy authentication) clients"}
RISK_ORDER = ("none", "low", "medium", "high", "hidden")
TRANSFER_LABELS = {"devicecodeflow": "the device code flow", "authenticationtransfer": "authentication transfer"}


def join_words(words: Iterable[str]) -> str:
    items = list(dict.fromkeys(w for w in words if w))
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _quote(text: str | None, limit: int = 160) -> str:
    value = " ".join((text or "").split())
    return repr(value if len(value) <= limit else value[:limit] + "…")


# --- users -------------------------------------------------------------------------------------

_RULE_CLAUSE = re.compile(r"^user\.(usertype|creationtype) -eq ([\"'])(guest|selfservicesignup)\2$")
_EVERY_GUEST_RULES = (frozenset({("usertype", "guest")}),
                      frozenset({("usertype", "guest"), ("creationtype", "selfservicesignup")}))


def _strip_parens(text: str) -> str:
    """Remove parentheses that enclose the whole expression."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and index < len(text) - 1:
                return text  # the first "(" closes before the end: "(a) -and (b)"
        text = text[1:-1].strip()
    return text


def _split_and(text: str) -> list[str] | None:
    """Top-level ``-and`` clauses; None when the rule uses anything else at the top (``-or``, ``-not``)."""
    parts, depth, start, quote = [], 0, 0, ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and text.startswith(" -and ", index):
            parts.append(text[start:index])
            start = index = index + len(" -and ")
            continue
        elif depth == 0 and (text.startswith(" -or ", index) or text.startswith("-not", index)):
            return None
        index += 1
    parts.append(text[start:])
    return parts


@functools.lru_cache(maxsize=4096)
def rule_contains_every_guest(rule: str | None) -> bool:
    """The dynamic membership rule provably puts every self-service guest in the group.

    Recognised (case- and whitespace-insensitively): ``user.userType -eq "Guest"`` alone, or and-ed with
    ``user.creationType -eq "SelfServiceSignUp"``. Any other rule cannot be proven to and is unknown.
    """
    if not rule:
        return False
    text = " ".join(fold(rule).split())
    text = re.sub(r"\s*-eq\s*", " -eq ", text)
    clauses = _split_and(_strip_parens(text))
    if not clauses:
        return False
    pairs = set()
    for clause in clauses:
        match = _RULE_CLAUSE.match(_strip_parens(clause))
        if not match:
            return False
        pairs.add((match.group(1), match.group(3)))
    return frozenset(pairs) in _EVERY_GUEST_RULES


def _membership(group: ConditionalAccessGroup, audience: Audience) -> tuple[Tri, str]:
    """Is the audience in the group? For a future sign-up only a provable dynamic rule says yes."""
    provable = group.is_dynamic and group.processing_on and rule_contains_every_guest(group.membershipRule)
    if audience.user_id:
        members = group.member_ids
        if members is None:
            return Tri.UNKNOWN, "its members were not collected"
        if audience.user_id in members:
            return Tri.YES, "this guest is a member"
        if provable:
            return Tri.YES, "its dynamic rule contains every guest"
        return Tri.NO, "this guest is not a member"
    if not group.is_dynamic:
        return Tri.NO, "static: a guest who signs up later is not a member"
    if not group.processing_on:
        state = group.membershipRuleProcessingState or "not On"
        return Tri.NO, f"dynamic membership processing is {state}: new guests are not added"
    if provable:
        return Tri.YES, "its dynamic rule contains every guest"
    return Tri.UNKNOWN, f"its membership rule {_quote(group.membershipRule)} cannot be proven to contain every guest"


def _group(group_id: str, audience: Audience, directory: Directory) -> tuple[Tri, str, str]:
    """(answer, the group's name, why) for "is the audience a member of this group"."""
    if directory.groups is None:
        return Tri.UNKNOWN, f"group {group_id}", f"members unknown ({directory.why('conditionalAccessGroups')})"
    group = directory.groups.get(fold(group_id))
    if group is None:
        return Tri.UNKNOWN, f"group {group_id}", "not in the collected conditionalAccessGroups"
    answer, why = _membership(group, audience)
    return answer, f"group '{group.label}'", why


def _guest_types(condition: GuestsOrExternalUsers, audience: Audience) -> tuple[Tri, str]:
    """Does the guest-or-external-user condition name self-service guests of this kind? (answer, words)"""
    types = condition.guestOrExternalUserTypes
    if SSSU_GUEST_TYPE not in condition.types:
        return Tri.NO, f"guest types {join_words(types) or '(none)'} (no B2B collaboration guests)"
    if condition.all_external_tenants:
        return Tri.YES, "B2B collaboration guests"
    count = len(condition.externalTenants.members) if condition.externalTenants else 0
    if audience.mail_based:
        return Tri.NO, (f"B2B collaboration guests of {count} listed external tenant(s) "
                        "(mail-based guests have no home tenant)")
    return Tri.UNKNOWN, (f"B2B collaboration guests of {count} listed external tenant(s): the home tenant of an "
                         "Entra ID guest cannot be proven to be among them")


def _included(users: CAUsers, audience: Audience, directory: Directory) -> Verdict:
    named = folded(users.includeUsers)
    if ALL in named or GUESTS in named or (audience.user_id and audience.user_id in named):
        return YES
    parts: list[Verdict] = []
    if users.includeGuestsOrExternalUsers is not None:
        answer, words = _guest_types(users.includeGuestsOrExternalUsers, audience)
        parts.append(Verdict(answer, () if answer is Tri.YES else (Reason("users", words),)))
    for group_id in users.includeGroups:
        answer, name, why = _group(group_id, audience, directory)
        words = f"{name}: {why}" if answer is Tri.UNKNOWN else f"{name} ({why})"
        parts.append(Verdict(answer, () if answer is Tri.YES else (Reason("users", words),)))
    if users.includeRoles:
        parts.append(no("users", "directory roles (a self-service guest who signs up holds none)"))
    if named - {"none"}:
        parts.append(no("users", f"{len(named - {'none'})} named user(s)"))
    result = any_of(parts, none=no("users", "includes no user"))
    if result.no and parts:
        return no("users", "includes only " + join_words(r.text for r in result.reasons))
    return result


def _excluded(users: CAUsers, audience: Audience, directory: Directory) -> Verdict:
    """YES (with the exclusion that applies), NO, or UNKNOWN."""
    named = folded(users.excludeUsers)
    if GUESTS in named:
        return Verdict(Tri.YES, (Reason("users", "excludes all guest and external users"),))
    if audience.user_id and audience.user_id in named:
        return Verdict(Tri.YES, (Reason("users", "excludes this guest by user id"),))
    yes: list[Reason] = []
    unsure: list[Reason] = []
    if users.excludeGuestsOrExternalUsers is not None:
        answer, words = _guest_types(users.excludeGuestsOrExternalUsers, audience)
        if answer is Tri.YES:
            yes.append(Reason("users", "excludes B2B collaboration guests"))
        elif answer is Tri.UNKNOWN:
            unsure.append(Reason("users", f"excludes {words}"))
    for group_id in users.excludeGroups:
        answer, name, why = _group(group_id, audience, directory)
        if answer is Tri.YES:
            yes.append(Reason("users", f"excludes {name} ({why})"))
        elif answer is Tri.UNKNOWN:
            unsure.append(Reason("users", f"excludes {name}: {why}"))
    if yes:
        return Verdict(Tri.YES, tuple(yes))
    if unsure:
        return Verdict(Tri.UNKNOWN, tuple(unsure))
    return Verdict(Tri.NO)


def users_verdict(users: CAUsers | None, audience: Audience, directory: Directory) -> Verdict:
    """Included (All users, all guests, the B2B collaboration guest type, a group) and not excluded."""
    if users is None:
        return no("users", "assigns no users (workload identities only)")
    included = _included(users, audience, directory)
    if included.no:
        return included
    excluded = _excluded(users, audience, directory)
    if excluded.yes:
        return Verdict(Tri.NO, excluded.reasons)
    if excluded.unknown:
        return Verdict(Tri.UNKNOWN, included.reasons + excluded.reasons)
    return included


def referenced_user_ids(users: CAUsers | None) -> tuple[frozenset[str], frozenset[str]]:
    """User ids (casefolded) named in includeUsers / excludeUsers, without the literals."""
    if users is None:
        return frozenset(), frozenset()
    literals = {ALL, GUESTS, "none"}
    return folded(users.includeUsers) - literals, folded(users.excludeUsers) - literals


# --- applications ------------------------------------------------------------------------------

def applications_verdict(apps: CAApplications | None, app_id: str) -> Verdict:
    """The application is targeted (``All`` or its appId) and not excluded. ``app_id`` is casefolded."""
    if apps is None:
        return no("applications", "targets no application")
    include, exclude = folded(apps.includeApplications), folded(apps.excludeApplications)
    app_filter = apps.applicationFilter if apps.applicationFilter and apps.applicationFilter.rule else None
    filter_mode = fold(app_filter.mode) if app_filter else ""

    def filter_unknown_() -> Verdict:
        return unknown("applications", "an application filter (custom security attributes) "
                                       f"{_quote(app_filter.rule) if app_filter else ''} cannot be judged offline")
    if not include - {"none"}:
        if apps.includeUserActions:
            return no("applications", f"targets only user actions ({join_words(apps.includeUserActions)}), "
                                      "not an application sign-in")
        if apps.includeAuthenticationContextClassReferences:
            return no("applications", "targets only authentication contexts "
                                      f"({join_words(apps.includeAuthenticationContextClassReferences)}), "
                                      "which an application requests for particular actions")
        if app_filter and filter_mode == "include":
            return filter_unknown_()
        return no("applications", "targets no application")
    if app_id == UNKNOWN_APP:
        if ALL not in include:
            return no("applications", "targets selected applications (the flows' application links are unknown)")
        if exclude:
            return unknown("applications", f"excludes {len(exclude)} application(s); with the flows' application "
                                           "links unknown, a flow's applications may be among them")
        return filter_unknown_() if app_filter and filter_mode == "exclude" else YES
    if app_id in exclude:
        return no("applications", "excludes this application")
    if ALL not in include and app_id not in include:
        if app_filter and filter_mode == "include":
            return filter_unknown_()
        return no("applications", f"targets {len(include)} other application(s)")
    if app_filter and filter_mode == "exclude":
        return filter_unknown_()
    return YES


# --- client app types, platforms ---------------------------------------------------------------------

def client_phrase(types: Iterable[str]) -> str:
    return join_words(CLIENT_LABELS.get(fold(t), t) for t in types)


def client_app_verdict(types: list[str], client: str) -> Verdict:
    wanted = folded(types)
    # "By default, all newly created Conditional Access policies apply to all client app types even if
    # the client apps condition isn't configured": an empty list is all of them.
    if not wanted or ALL in wanted or fold(client) in wanted:
        return YES
    return no("clientAppTypes", f"only {client_phrase(types)}")


def platform_phrase(platforms: Iterable[str]) -> str:
    return join_words(PLATFORM_LABELS.get(fold(p), p) for p in platforms)


def platform_verdict(platforms: CAPlatforms | None, platform: str) -> Verdict:
    if platforms is None:
        return YES
    include, exclude, key = folded(platforms.includePlatforms), folded(platforms.excludePlatforms), fold(platform)
    if key in exclude or ALL in exclude:
        return no("platforms", f"not on {platform_phrase(platforms.excludePlatforms)}")
    if not include:
        return unknown("platforms", "the device platform condition includes no platform")
    if ALL in include or key in include:
        return YES
    return no("platforms", f"only on {platform_phrase(platforms.includePlatforms)}")


# --- locations ---------------------------------------------------------------------------------------

def location_label(location_id: str, directory: Directory) -> str:
    key = fold(location_id)
    if key == ALL_TRUSTED:
        return "trusted locations"
    if key == MFA_TRUSTED_IPS:
        return "MFA trusted IPs"
    known = (directory.named_locations or {}).get(key)
    if known is not None:
        return f"'{known.label}'"
    return f"location {location_id} (not in the snapshot)"


def location_trusted(location: str, directory: Directory) -> Verdict:
    """Is the named location (casefolded id) inside "All trusted networks and locations"?"""
    if location == MFA_TRUSTED_IPS:
        return YES  # the option includes the MFA trusted IPs
    if directory.named_locations is None:
        return unknown("locations", f"whether {location} is a trusted location is unknown "
                                    f"({directory.why('namedLocations')})")
    known = directory.named_locations.get(location)
    if known is None:
        return unknown("locations", f"location {location} is not in the collected named locations")
    return YES if known.trusted else no("locations", f"'{known.label}' is not trusted")


def _inside(listed: frozenset[str], location: str, directory: Directory) -> Tri:
    """Is a sign-in from ``location`` (casefolded id, or INTERNET) inside any of the listed locations?"""
    if ALL in listed:
        return Tri.YES
    if location == INTERNET:
        return Tri.NO  # the internet context is inside no named location, trusted or not
    if location in listed:
        return Tri.YES
    if ALL_TRUSTED in listed:
        return location_trusted(location, directory).value
    return Tri.NO


def locations_verdict(locations: CALocations | None, location: str, directory: Directory,
                      label: Callable[[str], str]) -> Verdict:
    """``location`` is a casefolded named-location id or INTERNET; ``label`` names ids for the reasons."""
    if locations is None:
        return YES
    include, exclude = folded(locations.includeLocations), folded(locations.excludeLocations)
    if not include:
        return unknown("locations", "the location condition includes no location")
    inside = _inside(include, location, directory)
    if inside is Tri.NO:
        return no("locations", f"only from {join_words(label(i) for i in locations.includeLocations)}")
    outside = _inside(exclude, location, directory)
    where = "the internet" if location == INTERNET else label(location)
    if outside is Tri.YES:
        return no("locations", f"not from {join_words(label(i) for i in locations.excludeLocations)}")
    if Tri.UNKNOWN in (inside, outside):
        return unknown("locations", f"whether a sign-in from {where} is inside the policy's locations is unknown "
                                    f"({location_trusted(location, directory).reasons[0].text})")
    return YES


def referenced_locations(locations: CALocations | None) -> list[str]:
    """Named-location ids a policy names (not the All/AllTrusted literals), as written."""
    if locations is None:
        return []
    return [i for i in locations.includeLocations + locations.excludeLocations if fold(i) not in (ALL, ALL_TRUSTED)]


def uses_all_trusted(locations: CALocations | None) -> bool:
    if locations is None:
        return False
    return ALL_TRUSTED in folded(locations.includeLocations + locations.excludeLocations)


# --- risk, devices, authentication flows, workload identities ------------------------------------------

def _levels(levels: list[str]) -> str:
    keys = folded(levels)
    ordered = [level for level in RISK_ORDER if level in keys] + sorted(keys - set(RISK_ORDER))
    return join_words(ordered)


def risk_verdicts(conditions: CAConditions) -> list[Verdict]:
    """A no-risk sign-in matches a risk condition only when its list names ``none`` (no risk)."""
    verdicts = []
    for field, what in (("signInRiskLevels", "sign-in risk"), ("userRiskLevels", "user risk")):
        levels = getattr(conditions, field)
        if levels and "none" not in folded(levels):
            verdicts.append(no(field, f"only at {_levels(levels)} {what}"))
    insider = folded(conditions.insiderRiskLevels) - {"none"}
    if insider:
        verdicts.append(no("insiderRiskLevels", f"only at {_levels(list(insider))} insider risk"))
    return verdicts


_DEVICE_TOKEN = re.compile(r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<list>\[[^\]]*\])|(?P<string>"[^"]*"|'[^']*')"""
                           r"""|(?P<op>-[A-Za-z]+)|(?P<word>[A-Za-z_][\w.\[\]]*))""")
_POSITIVE_OPS = {"-eq", "-startswith", "-endswith", "-contains", "-in", "-match"}
_NEGATIVE_OPS = {"-ne", "-notstartswith", "-notendswith", "-notcontains", "-notin", "-notmatch"}


class _RuleError(ValueError):
    pass


def _tokens(rule: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = rule.strip()
    while position < len(text):
        match = _DEVICE_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise _RuleError(f"cannot read the rule at {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, fold(match.group(kind))))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


def device_rule_matches_unregistered(rule: str) -> bool | None:
    """Does a device-filter rule match a device that is not registered in the tenant?

    Microsoft: for an unregistered device "all device properties are considered as null values", so a
    positive operator (Equals, StartsWith, EndsWith, Contains, In) does not match and a negative one
    (NotEquals, NotStartsWith, NotEndsWith, NotContains, NotIn) does. The rule's -and/-or/-not are then
    applied. None when the rule cannot be read.
    """
    try:
        tokens = _tokens(rule)
    except _RuleError:
        return None
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise _RuleError("the rule ends early")
        position += 1
        return tokens[position - 1]

    def expression() -> bool:
        value = conjunction()
        while peek() == ("op", "-or"):
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = unary()
        while peek() == ("op", "-and"):
            take()
            value = unary() and value
        return value

    def unary() -> bool:
        kind, text = take()
        if (kind, text) == ("op", "-not"):
            return not unary()
        if kind == "open":
            value = expression()
            if take()[0] != "close":
                raise _RuleError("unbalanced parentheses")
            return value
        if kind != "word" or not text.startswith("device."):
            raise _RuleError(f"expected a device property, got {text!r}")
        op_kind, op = take()
        if op_kind != "op" or op not in _POSITIVE_OPS | _NEGATIVE_OPS:
            raise _RuleError(f"unsupported operator {op!r}")
        value_kind, _ = take()
        if value_kind not in ("string", "list", "word"):
            raise _RuleError("expected a value")
        return op in _NEGATIVE_OPS  # a null property: only negative comparisons hold

    try:
        result = expression()
    except _RuleError:
        return None
    return result if position == len(tokens) else None


def device_verdict(devices: CADevices | None) -> Verdict:
    if devices is None or devices.deviceFilter is None or not devices.deviceFilter.rule:
        # The deprecated device-state condition only excludes compliant or domain-joined devices, which
        # an unregistered device is not.
        return YES
    rule, mode = devices.deviceFilter.rule, fold(devices.deviceFilter.mode)
    matched = device_rule_matches_unregistered(rule)
    if matched is None or mode not in ("include", "exclude"):
        return unknown("devices", f"the device filter {_quote(rule)} cannot be evaluated")
    if mode == "include":
        return YES if matched else no("devices", f"only devices matching the filter {_quote(rule)}, "
                                                 "which an unregistered device does not")
    return no("devices", f"excludes devices matching {_quote(rule)}, which an unregistered device does "
                         "(a negative operator matches a device with no properties)") if matched else YES


def flows_verdict(conditions: CAConditions) -> Verdict:
    flows = conditions.authenticationFlows
    methods = folded(flows.transferMethods) - {"none"} if flows else frozenset()
    if methods:
        return no("authenticationFlows", f"only {join_words(TRANSFER_LABELS.get(m, m) for m in sorted(methods))}")
    return YES


def workload_verdict(conditions: CAConditions) -> Verdict:
    apps = conditions.clientApplications
    if apps is not None and apps.includeServicePrincipals:
        return no("clientApplications", "targets workload identities (service principals), not users")
    return YES
