"""docs/auth-setup.md grants what the collector asks for, and documents its tuning variables."""

from __future__ import annotations

import re
from pathlib import Path

from auditor.commands.permissions import all_permissions, permission_rows

DOC = (Path(__file__).resolve().parents[1] / "docs" / "auth-setup.md").read_text(encoding="utf-8")
SETTINGS = (Path(__file__).resolve().parents[1] / "auditor" / "collect" / "settings.py").read_text(encoding="utf-8")


def _role_ids() -> dict[str, str]:
    """permission -> app role id, from the permissions table."""
    rows = re.findall(r"^\| `([A-Za-z.]+)` \| `([0-9a-f-]{36})` \|", DOC, re.MULTILINE)
    return dict(rows)


def test_every_permission_flowaudit_shows_has_a_role_id_granted_in_each_recipe() -> None:
    roles = _role_ids()
    wanted = all_permissions(permission_rows())
    assert sorted(roles) == sorted(wanted)
    cli_loop, identity_loop = re.findall(r"for ROLE in(.*?)\ndo\n", DOC, re.DOTALL)
    for permission, role in roles.items():
        assert role in cli_loop and role in identity_loop, permission


def test_every_tuning_variable_is_documented() -> None:
    names = set(re.findall(r"FLOWAUDIT_[A-Z_]+", SETTINGS)) | {"FLOWAUDIT_WHATIF_MAX_CALLS"}
    documented = set(re.findall(r"^\| `(FLOWAUDIT_[A-Z_]+)` \|", DOC, re.MULTILINE))
    assert names <= documented, sorted(names - documented)
