"""Write GitHub Actions' OIDC token to a file, for Entra workload identity federation.

azure-identity's WorkloadIdentityCredential (reached through ``--auth default``) reads the
assertion from ``AZURE_FEDERATED_TOKEN_FILE``. GitHub's token lives about five minutes, so with
``--refresh`` this keeps the file fresh while a long collection runs and azure-identity may need a
new Graph token. Standard library only: it runs before and beside flowaudit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.parse
import urllib.request

# The audience Entra expects in the federated assertion, per cloud (Microsoft's documented values).
AUDIENCES = {
    "global": "api://AzureADTokenExchange",
    "usgov": "api://AzureADTokenExchangeUSGov",
    "usgov-dod": "api://AzureADTokenExchangeUSGov",
    "china": "api://AzureADTokenExchangeChina",
}


def fetch(audience: str, timeout: float = 30) -> str:
    try:
        url = os.environ["ACTIONS_ID_TOKEN_REQUEST_URL"]
        bearer = os.environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
    except KeyError:
        raise SystemExit("flowaudit: no GitHub OIDC token available: give the job `permissions: id-token: write`"
                         ) from None
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(
        f"{url}{separator}audience={urllib.parse.quote(audience, safe='')}",
        headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        value = json.load(response).get("value")
    if not isinstance(value, str) or not value:
        raise RuntimeError("the OIDC endpoint answered without a token")
    return value


def write_private(path: str, value: str) -> None:
    """Replace the file atomically, readable by this user only (it is a credential)."""
    temporary = f"{path}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="file to write the token to")
    parser.add_argument("--cloud", default="global", choices=sorted(AUDIENCES))
    parser.add_argument("--audience", default="", help="overrides the cloud's audience")
    parser.add_argument("--refresh", type=float, default=0, help="keep refreshing every N seconds")
    parser.add_argument("--max-seconds", type=float, default=6 * 3600,
                        help="stop refreshing after this long (GitHub's job limit)")
    args = parser.parse_args(argv)
    audience = args.audience or AUDIENCES[args.cloud]
    if not args.refresh:
        try:
            write_private(args.out, fetch(audience))
        except (OSError, RuntimeError, ValueError) as exc:
            print(f"flowaudit: could not get GitHub's OIDC token: {exc}", file=sys.stderr)
            return 3
        return 0
    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline:
        time.sleep(args.refresh)
        try:
            write_private(args.out, fetch(audience))
        except (OSError, RuntimeError, ValueError) as exc:  # keep the old token; the next round may work
            print(f"flowaudit: refreshing GitHub's OIDC token failed: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
