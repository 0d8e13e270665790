"""``policydesk apikey create|list|revoke``: service accounts for integrations.

The local operator manages keys (like ``policydesk user``); the key is printed once, at creation.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import TextIO

from accounts.apikeys import ApiScope
from services.root import Services


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``apikey`` command."""
    apikey = sub.add_parser("apikey", help="API keys for integrations (telephony, WeChat back end)")
    which = apikey.add_subparsers(dest="apikey_command", required=True)
    create = which.add_parser("create", help="a new key, printed once")
    create.add_argument("name", help="who uses it, e.g. wechat-backend")
    create.add_argument(
        "--scope", required=True, help=f"what it may do: {', '.join(s.value for s in ApiScope)}"
    )
    create.add_argument("--json", action="store_true", help='print {"name", "scope", "key"}')
    which.add_parser("list", help="every key (never the key itself)")
    revoke = which.add_parser("revoke", help="stop a key from working")
    revoke.add_argument("name")


def _operator() -> str:
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:operator"


def cmd_apikey(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Create, list or revoke keys; creation and revocation are audited."""
    store = services.api_keys
    if args.apikey_command == "create":
        new = store.create(args.name, args.scope, created_by=_operator())
        services.audit.record(_operator(), "apikey.create", new.name, new.scope.value)
        if args.json:
            out.write(json.dumps(new.model_dump(mode="json")) + "\n")
        else:
            out.write(
                f"created key {new.name} (scope {new.scope.value}); it is shown only now:\n"
                f"{new.key}\n"
            )
        return 0
    if args.apikey_command == "list":
        for key in store.listing():
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            out.write(
                f"{key.name}\t{key.scope.value}\t{key.prefix}…\t{state}\t"
                f"created {key.created_at:%Y-%m-%d} by {key.created_by}\tlast used {used}\n"
            )
        return 0
    revoked = store.revoke(args.name)
    services.audit.record(_operator(), "apikey.revoke", revoked.name, revoked.scope.value)
    out.write(f"revoked key {revoked.name}\n")
    return 0


COMMANDS = {"apikey": cmd_apikey}
