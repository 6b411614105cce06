"""Does a policy's grant demand multifactor authentication that a self-service guest can perform?

A grant is a set of alternatives joined by ``AND`` (all required, the default) or ``OR`` (one
suffices). For a guest of a given kind each alternative is one of:

- MFA: classic ``mfa``, or an authentication strength the guest can meet (Entra ID guests only);
- OPEN: satisfiable without MFA (terms of use, approved/compliant app, custom controls, a device claim
  accepted through inbound trust, a strength that does not require MFA): under OR it makes MFA optional;
- UNSAT: the guest can never satisfy it (a strength for a mail-based guest, a device claim nobody vouches
  for, a password change in a tenant where the guest has no password);
- UNKNOWN_MFA / UNKNOWN_OPEN: depends on data that is missing (cross-tenant settings not collected).

``block`` closes the context, which counts as protected. Unknown never counts as protection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from auditor.conditional_access.conditions import join_words
from auditor.conditional_access.directory import Audience, Directory
from auditor.conditional_access.verdict import YES, Reason, Tri, Verdict, no
from auditor.model._base import fold
from auditor.model.conditional_access import AuthenticationStrength, GrantControls
from auditor.model.signin_matrix import KIND_LABELS

# Methods an external user can register and use in the resource tenant (the "Resource tenant" column of
# Microsoft's table of authentication strength methods for external users): SMS, voice call, Microsoft
# Authenticator push, software OATH token — each as the second factor after the password.
REGISTRABLE_COMBINATIONS = frozenset(frozenset({"password", method})
                                     for method in ("sms", "voice", "microsoftauthenticatorpush", "softwareoath"))
CONTROL_LABELS = {"mfa": "multifactor authentication", "block": "block", "compliantdevice": "a compliant device",
                  "domainjoineddevice": "a Microsoft Entra hybrid joined device",
                  "approvedapplication": "an approved client app", "compliantapplication": "an app protection policy",
                  "passwordchange": "a password change", "riskremediation": "risk remediation"}
_DEVICE_CLAIMS = {"compliantdevice": "isCompliantDeviceAccepted", "domainjoineddevice": "isHybridAzureADJoinedDeviceAccepted"}


class Alt(Enum):
    MFA = "mfa"
    OPEN = "open"
    UNSAT = "unsatisfiable"
    UNKNOWN_MFA = "unknown (MFA or unsatisfiable)"
    UNKNOWN_OPEN = "unknown (may not need MFA)"


@dataclass(frozen=True)
class Alternative:
    label: str
    alt: Alt
    why: str
    strength: bool = False


@dataclass(frozen=True)
class GrantVerdict:
    protects: Verdict  # YES: blocks, or demands MFA the guest can perform with no way around it
    blocks: bool
    strength_unsatisfiable: Tri  # YES: passes only through a strength the guest cannot meet (CAP001)
    strength_name: str | None
    alternatives: tuple[Alternative, ...]
    operator: str

    @property
    def summary(self) -> str:
        if self.blocks:
            return "block"
        if not self.alternatives:
            return "no grant control"
        return f" {self.operator} ".join(a.label for a in self.alternatives)


def _strength(strength: AuthenticationStrength, audience: Audience, directory: Directory) -> Alternative:
    stored = directory.strengths.get(fold(strength.id)) if strength.id else None
    name = strength.displayName or (stored.displayName if stored else None) or strength.id or "(unnamed)"
    label = f"authentication strength '{name}'"
    if audience.mail_based:
        return Alternative(label, Alt.UNSAT, f"{label} cannot be satisfied by a guest who signs up with "
                                             f"{KIND_LABELS.get(audience.kind, audience.kind)}: authentication "
                                             "strength applies only to external users who authenticate with "
                                             "Microsoft Entra ID", strength=True)
    requirement = fold(strength.requirementsSatisfied or (stored.requirementsSatisfied if stored else None))
    combinations = strength.allowedCombinations
    if combinations is None and stored is not None:
        combinations = stored.allowedCombinations
    if requirement == "none":
        return Alternative(label, Alt.OPEN, f"{label} does not require MFA", strength=True)
    if requirement != "mfa":
        return Alternative(label, Alt.UNKNOWN_MFA, f"{label}: requirementsSatisfied "
                                                   f"{strength.requirementsSatisfied!r} is not understood", strength=True)
    sets = {frozenset(fold(m).strip() for m in c.split(",") if m.strip()) for c in combinations or []}
    registrable = sorted(" + ".join(sorted(c)) for c in sets if c in REGISTRABLE_COMBINATIONS)
    if registrable:
        return Alternative(label, Alt.MFA, f"{label} allows {join_words(registrable)}, which an Entra ID guest "
                                           "can register in this tenant", strength=True)
    if directory.trust is None:
        return Alternative(label, Alt.UNKNOWN_MFA, f"{label} allows no method an external user can register here; "
                                                   "whether inbound MFA trust is accepted is unknown "
                                                   f"({directory.why('crossTenantAccessPolicy')})", strength=True)
    accepted = directory.trust.accepted_by("isMfaAccepted")
    if accepted:
        return Alternative(label, Alt.MFA, f"{label} is met through inbound MFA trust ({join_words(accepted)})",
                           strength=True)
    if combinations is None:
        return Alternative(label, Alt.UNKNOWN_MFA, f"{label}: its allowed combinations are not in the snapshot",
                           strength=True)
    return Alternative(label, Alt.UNSAT, f"{label} allows no method an Entra ID guest can register in this tenant "
                                         "(SMS, voice call, Authenticator push, software OATH) and inbound MFA "
                                         "trust is not accepted", strength=True)


def _builtin(control: str, audience: Audience, directory: Directory) -> Alternative:
    label = CONTROL_LABELS.get(control, control)
    if control == "mfa":
        return Alternative(label, Alt.MFA, "requires multifactor authentication")
    if control in _DEVICE_CLAIMS:
        if audience.mail_based:
            return Alternative(label, Alt.UNSAT, f"{label}: a mail-based guest has no home tenant to vouch for "
                                                 "the device")
        if directory.trust is None:
            return Alternative(label, Alt.UNKNOWN_OPEN, f"{label}: whether inbound trust accepts the device claim is "
                                                        f"unknown ({directory.why('crossTenantAccessPolicy')})")
        accepted = directory.trust.accepted_by(_DEVICE_CLAIMS[control])
        if accepted:
            return Alternative(label, Alt.OPEN, f"{label}: inbound trust accepts the home tenant's device claim "
                                                f"({join_words(accepted)}), so no MFA is needed")
        return Alternative(label, Alt.UNSAT, f"{label}: inbound trust does not accept the device claim")
    if control in ("approvedapplication", "compliantapplication"):
        return Alternative(label, Alt.OPEN, f"{label} is an alternative to MFA")
    if control == "passwordchange":
        return Alternative(label, Alt.UNSAT, "a password change cannot be done by a guest in this tenant")
    return Alternative(label, Alt.UNKNOWN_OPEN, f"grant control {control!r} is not understood")


def grant_verdict(grant: GrantControls | None, audience: Audience, directory: Directory) -> GrantVerdict:
    if grant is None or not (grant.builtInControls or grant.authenticationStrength or grant.termsOfUse
                             or grant.customAuthenticationFactors):
        return GrantVerdict(no("grant", "grants access without any control"), False, Tri.NO, None, (), "AND")
    controls = [fold(c) for c in grant.builtInControls]
    operator = "OR" if fold(grant.operator) == "or" else "AND"  # Conditional Access requires all by default
    strength = grant.authenticationStrength
    if "block" in controls:
        return GrantVerdict(YES, True, Tri.NO, None, (), operator)
    items = [_builtin(c, audience, directory) for c in dict.fromkeys(controls)]
    if strength is not None:
        items.append(_strength(strength, audience, directory))
    if grant.termsOfUse:
        items.append(Alternative("terms of use", Alt.OPEN, "accepting the terms of use"))
    if grant.customAuthenticationFactors:
        items.append(Alternative("a custom control", Alt.OPEN, "a custom control"))
    kinds = {i.alt for i in items}
    strength_item = next((i for i in items if i.strength), None)
    strength_name = strength_item.label if strength_item else None
    if operator == "AND":
        if Alt.MFA in kinds:
            protects = YES
        elif Alt.UNKNOWN_MFA in kinds:
            protects = Verdict(Tri.UNKNOWN, tuple(Reason("grant", i.why) for i in items if i.alt is Alt.UNKNOWN_MFA))
        else:
            protects = no("grant", "requires " + join_words(i.label for i in items) + ", which is not MFA")
        if strength_item is None:
            cap001 = Tri.NO
        else:
            cap001 = {Alt.UNSAT: Tri.YES, Alt.UNKNOWN_MFA: Tri.UNKNOWN}.get(strength_item.alt, Tri.NO)
        return GrantVerdict(protects, False, cap001, strength_name, tuple(items), operator)
    opens = [i for i in items if i.alt is Alt.OPEN]
    maybe_open = [i for i in items if i.alt is Alt.UNKNOWN_OPEN]
    if opens:
        protects = no("grant", "MFA is optional: " + join_words(i.why for i in opens))
    elif Alt.MFA in kinds and not maybe_open:
        protects = YES
    elif kinds & {Alt.MFA, Alt.UNKNOWN_MFA}:
        protects = Verdict(Tri.UNKNOWN, tuple(Reason("grant", i.why) for i in items
                                              if i.alt in (Alt.UNKNOWN_MFA, Alt.UNKNOWN_OPEN)))
    else:
        protects = no("grant", "grants only through " + join_words(i.label for i in items)
                      + ", none of which is MFA this guest can perform")
    others = [i.alt for i in items if i is not strength_item]
    if strength_item is None or any(a in (Alt.MFA, Alt.OPEN) for a in others):
        cap001 = Tri.NO
    elif strength_item.alt is Alt.UNSAT and all(a is Alt.UNSAT for a in others):
        cap001 = Tri.YES
    elif strength_item.alt in (Alt.UNSAT, Alt.UNKNOWN_MFA):
        cap001 = Tri.UNKNOWN
    else:
        cap001 = Tri.NO
    return GrantVerdict(protects, False, cap001, strength_name, tuple(items), operator)


def describe_alternatives(verdict: GrantVerdict) -> list[dict[str, str]]:
    return [{"control": a.label, "forThisGuest": a.alt.value, "why": a.why} for a in verdict.alternatives]

