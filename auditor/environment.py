"""``FLOWAUDIT_*`` environment variables: which exist, and a warning for the ones that do not.

A typo (``FAILON`` for ``FAIL_ON``) would otherwise be ignored in silence and a nightly job would
run with the default gate. The known names are the ``envvar`` of every option of every command
(read from the click tree, so a new option is known the moment it exists) plus the few variables
read directly by the code, listed here. A test checks that every ``FLOWAUDIT_`` name written in the
package is known, so this list cannot fall behind.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping

import click

PREFIX = "FLOWAUDIT_"

# Read by the code, not through a command-line option.
READ_DIRECTLY = {
    "FLOWAUDIT_ACCESS_TOKEN": "the bearer token for --auth token",
    "FLOWAUDIT_MAX_IN_FLIGHT": "collector: requests in flight at once",
    "FLOWAUDIT_MAX_RETRIES": "collector: retries per throttled request",
    "FLOWAUDIT_BACKOFF_BASE": "collector: back-off in seconds without Retry-After",
    "FLOWAUDIT_HTTP_TIMEOUT": "collector: seconds a whole response may take",
    "FLOWAUDIT_CONNECT_TIMEOUT": "collector: seconds to open a connection",
    "FLOWAUDIT_READ_TIMEOUT": "collector: seconds of silence allowed while a response arrives",
    "FLOWAUDIT_MAX_PAGES": "collector: pages per source at most",
    "FLOWAUDIT_RETRY_AFTER_CAP": "collector: longest Retry-After waited for, in seconds",
    "FLOWAUDIT_CA_RATE": "collector: Conditional Access budget (policies, named locations, What-If)",
    "FLOWAUDIT_SIGNIN_RATE": "collector: sign-in report budget, REQUESTS/SECONDS",
    "FLOWAUDIT_ACTIVITY_RATE": "collector: signInActivity budget, REQUESTS/SECONDS",
    "FLOWAUDIT_APP_SIGNIN_RATE": "collector: the app's sign-in report budget across all tenants",
    "FLOWAUDIT_APP_DIRECTORY_RATE": "collector: the app's directory budget (resource units) across all tenants",
    "FLOWAUDIT_APP_RATE": "collector: the app's budget for any request across all tenants",
}
# Read by the wrapper scripts of docs/recipes/, which run flowaudit with them in its environment.
READ_BY_RECIPES = {
    "FLOWAUDIT_KEEP_NIGHTS": "systemd recipe: nights of results to keep",
    "FLOWAUDIT_KEEP_SNAPSHOTS": "systemd recipe: nights of snapshots to keep",
    "FLOWAUDIT_ACR": "Container Apps recipe: the registry to pull the image from",
    "FLOWAUDIT_STORAGE": "Container Apps recipe: the storage account of the results share",
    "FLOWAUDIT_SOURCE": "Container Apps recipe: the checkout the image is built from",
    "FLOWAUDIT_PORTFOLIO_TIMEOUT": "Kubernetes portfolio recipe: seconds a tenant's audit may take",
}


def option_variables(root: click.Command) -> set[str]:
    """The envvar names of every option of ``root`` and its subcommands."""
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str):
                names.add(envvar)
            elif envvar:
                names.update(envvar)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(root)
    return names


def known_variables(root: click.Command) -> set[str]:
    return option_variables(root) | set(READ_DIRECTLY) | set(READ_BY_RECIPES)


def unknown_variables(environ: Mapping[str, str], known: Iterable[str]) -> list[tuple[str, str | None]]:
    """(unknown name, the nearest known name or None), sorted by name."""
    # compare what follows the prefix: the shared FLOWAUDIT_ would make every name look close
    by_suffix = {k[len(PREFIX):]: k for k in sorted(known)}
    found = []
    for name in sorted(n for n in environ if n.startswith(PREFIX) and n not in by_suffix.values()):
        near = difflib.get_close_matches(name[len(PREFIX):], list(by_suffix), n=1, cutoff=0.8)
        found.append((name, by_suffix[near[0]] if near else None))
    return found


def warnings_for(root: click.Command, environ: Mapping[str, str] | None = None) -> list[str]:
    lines = []
    for name, near in unknown_variables(os.environ if environ is None else environ, known_variables(root)):
        hint = f" (did you mean {near}?)" if near else ""
        lines.append(f"unknown environment variable {name}{hint}; it is ignored")
    return lines


def envvar_in_use(param: click.Parameter) -> str | None:
    """The variable an option's value came from (the first of its names that is set)."""
    envvar = getattr(param, "envvar", None)
    names = [envvar] if isinstance(envvar, str) else list(envvar or [])
    return next((n for n in names if os.environ.get(n)), names[0] if names else None)
