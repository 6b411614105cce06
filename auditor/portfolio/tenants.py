"""The tenants file of ``flowaudit portfolio run`` (docs/portfolio-format.md, "The tenants file").

::

    defaults:                 # any key below, for every entry (an entry's own value wins)
      auth: default
      fail-on: high
    tenants:
      - name: Contoso EU
        tenant: 4c6a2b1e-8d3f-4f0a-9b7c-5e2d1a0f3c8b
        config: tenants/contoso.yaml        # optional: the tenant's config file
        waivers: tenants/contoso-waivers.yaml
      - name: Fabrikam (offline)
        snapshot: snapshots/fabrikam.zip

Keys are ``flowaudit audit``'s long option names, with the same types; paths are relative to the
tenants file. A tenant's value is its entry's, else its config file's, else ``defaults:``'s, else
``audit``'s default: the more specific wins. The whole file is checked before any tenant is audited: a problem is one line naming
the file, the entry and the key (exit 2). What a tenant's own files hold (its config, waivers,
baseline, snapshot) is that tenant's input: a bad one fails that tenant only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from auditor.errors import InputError
from auditor.yamlfile import safe_load_yaml

TOP_KEYS = ("defaults", "tenants")
# Keys of an entry that are not options of `audit`, or mean something else here.
OWN_KEYS = ("name", "token-env")
# Options of `audit` an entry cannot set, and why.
REFUSED = {
    "output-dir": "portfolio run writes each tenant into its own folder of --output-dir",
    "quiet": "portfolio run prints one line per tenant; use -q on portfolio run",
    "verbose": "use -v on portfolio run",
    "help": "not an option to set",
}
# The audit option keys that make an entry offline; a live entry needs `tenant` instead.
OFFLINE_KEYS = ("snapshot", "sample")
RESERVED_FOLDERS = {"portfolio.json", "portfolio.html", "portfolio.pdf", "portfolio.md"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_IN_FOLDER = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class TenantEntry:
    """One tenant of the file, its values checked and typed (by `audit`'s parameter names)."""

    index: int  # 1-based position in the file
    name: str
    folder: str  # its folder inside --output-dir (unique, safe)
    values: dict[str, Any]  # parameter name -> value: the keys the entry itself sets
    defaults: dict[str, Any] = field(default_factory=dict)  # the same for `defaults:` keys it does not set
    token_env: str | None = None

    @property
    def label(self) -> str:
        return f"tenant {self.index} ({self.name})"

    def get(self, name: str) -> Any:
        """A value the tenants file gives this tenant (its entry, else `defaults:`), by parameter name."""
        return self.values[name] if name in self.values else self.defaults.get(name)

    @property
    def tenant(self) -> str | None:
        value = self.get("tenant")
        return str(value) if value else None

    @property
    def live(self) -> bool:
        return not (self.get("snapshot_path") or self.get("sample"))

    @property
    def config(self) -> Path | None:
        value = self.get("config_path")
        return Path(value) if value else None


@dataclass
class TenantsFile:
    path: Path
    entries: list[TenantEntry]


def audit_options() -> dict[str, click.Parameter]:
    """`audit`'s options by long name (read from the command, so a new option is known at once)."""
    from auditor.cli import audit
    from auditor.cli_config import long_names

    return long_names(audit)


def folder_name(name: str, taken: set[str]) -> str:
    """A folder for the tenant: its name with nothing but letters, digits, ``.``, ``_``, ``-`` (no
    leading dot, not a file name of the portfolio itself), unique ignoring case."""
    base = _NOT_IN_FOLDER.sub("-", name).strip("-").lstrip(".")[:60].rstrip("-.") or "tenant"
    if base.casefold() in RESERVED_FOLDERS:
        base = f"{base}-tenant"
    candidate, n = base, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate.casefold())
    return candidate


def _value(key: str, value: Any, options: dict[str, click.Parameter], path: Path, where: str) -> tuple[str, Any]:
    from auditor.cli_config import convert_value

    param = options[key]
    converted = convert_value(key, value, param, path, where)
    if key in ("rules", "skip-rules"):
        from auditor.catalog import load_catalog

        ids = [part.strip().upper() for part in str(converted).split(",") if part.strip()]
        load_catalog().check_ids(ids, f"{where}: '{key}'")
    if key == "format":
        from auditor._format.registry import parse_formats

        parse_formats(str(converted), f"{where}: 'format'")
    return str(param.name), converted


def _entry(index: int, raw: Any, defaults: dict[str, Any], options: dict[str, click.Parameter],
           path: Path) -> TenantEntry:
    """The entry checked and typed (its folder is chosen later)."""
    if not isinstance(raw, dict):
        raise InputError(f"{path}: tenant {index}: an entry must be a mapping of key: value, got "
                         f"{type(raw).__name__}")
    written = raw.get("name")
    if written is not None and (not isinstance(written, (str, int)) or not str(written).strip()):
        raise InputError(f"{path}: tenant {index}: 'name' must be a non-empty string")
    own = {str(k): v for k, v in raw.items()}
    merged = {**defaults, **own}
    fallback = merged.get("tenant") or merged.get("sample") or merged.get("snapshot")
    name = str(written).strip() if written is not None else \
        (Path(str(fallback)).name if fallback is not None else f"tenant {index}")
    where = f"{path}: tenant {index} ({name})"
    values: dict[str, Any] = {}
    inherited: dict[str, Any] = {}
    token_env: str | None = None
    for key, value in merged.items():
        if key == "name":
            continue
        if key == "token-env":
            if not isinstance(value, str) or not _ENV_NAME.match(value):
                raise InputError(f"{where}: 'token-env': expected the name of an environment variable, got {value!r}")
            token_env = value
            continue
        if key in REFUSED:
            raise InputError(f"{where}: key '{key}' cannot be set per tenant: {REFUSED[key]}")
        if key not in options:
            spelled = key.replace("_", "-")
            hint = f" (write it as on the command line: '{spelled}')" if spelled != key and \
                (spelled in options or spelled in OWN_KEYS) else ""
            raise InputError(f"{where}: unknown key '{key}'{hint}")
        if value is None:
            continue  # `key:` with nothing after it: as if absent
        param_name, converted = _value(key, value, options, path, where)
        (values if key in own else inherited)[param_name] = converted
    offline = [k for k in OFFLINE_KEYS if merged.get(k) is not None]
    if len(offline) > 1:
        raise InputError(f"{where}: give either 'snapshot' or 'sample', not both")
    if not offline and not merged.get("tenant"):
        raise InputError(f"{where}: a live entry needs 'tenant' (its tenant id or domain); an offline one "
                         "needs 'snapshot' (or 'sample')")
    return TenantEntry(index=index, name=name, folder="", values=values, defaults=inherited, token_env=token_env)


def read_tenants_file(path: Path) -> TenantsFile:
    """Read and check the whole file; the first problem is one line naming file, entry and key (exit 2)."""
    data = safe_load_yaml(path, "tenants file")
    if not isinstance(data, dict):
        raise InputError(f"{path}: a tenants file must be a YAML mapping with 'tenants:' (and optionally "
                         "'defaults:')")
    unknown = sorted(str(k) for k in data if k not in TOP_KEYS)
    if unknown:
        raise InputError(f"{path}: unknown key '{unknown[0]}' (allowed at the top: {', '.join(TOP_KEYS)})")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError(f"{path}: 'defaults' must be a mapping of key: value")
    tenants = data.get("tenants")
    if not isinstance(tenants, list) or not tenants:
        raise InputError(f"{path}: 'tenants' must be a non-empty list of entries")
    options = audit_options()
    entries: list[TenantEntry] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(tenants, start=1):
        entry = _entry(index, raw, {str(k): v for k, v in defaults.items()}, options, path)
        earlier = names.get(entry.name.casefold())
        if earlier is not None:
            raise InputError(f"{path}: tenant {index} ({entry.name}): name '{entry.name}' is already used by "
                             f"tenant {earlier}; each tenant needs its own name")
        names[entry.name.casefold()] = index
        entries.append(entry)
    taken: set[str] = set()
    for entry in entries:
        entry.folder = folder_name(entry.name, taken)
    return TenantsFile(path=path, entries=entries)
