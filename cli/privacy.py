"""``policydesk privacy export|erase|purge``: a customer's rights, and retention.

``export`` and ``erase`` act on a customer's request and are run by a supervisor (``--user``,
the password from ``POLICYDESK_PASSWORD`` or a prompt); ``purge`` is the scheduled retention job
(run it daily, e.g. from cron). Every run is audited.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TextIO

from cli.studio import login
from core.errors import PolicyDeskError
from services.root import Services


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``privacy`` command."""
    privacy = sub.add_parser("privacy", help="customers' data requests (PIPL) and retention")
    privacy.add_argument(
        "--user", default=os.environ.get("POLICYDESK_USER"), help="acting supervisor"
    )
    which = privacy.add_subparsers(dest="privacy_command", required=True)
    export = which.add_parser("export", help="everything personal about a customer, as JSON")
    export.add_argument("customer", help="the customer id, e.g. C00042")
    export.add_argument("--out", type=Path, help="write to this file (default: standard output)")
    erase = which.add_parser(
        "erase", help="erase a customer's personal data (kept by law: anonymised)"
    )
    erase.add_argument("customer", help="the customer id, e.g. C00042")
    erase.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    purge = which.add_parser("purge", help="delete records older than their retention (daily job)")
    purge.add_argument("--dry-run", action="store_true", help="count only")


def cmd_privacy(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Export, erase or purge."""
    privacy = services.privacy
    if args.privacy_command == "purge":
        report = privacy.purge("retention-job", dry_run=args.dry_run)
        verb = "would remove" if report.dry_run else "removed"
        out.write(
            f"retention purge {verb}: "
            + ", ".join(f"{name} {count}" for name, count in report.removed.items())
            + "\n"
        )
        return 0
    user = login(services, args.user)
    if args.privacy_command == "export":
        document = json.dumps(privacy.export(user, args.customer), ensure_ascii=False, indent=2)
        if args.out is None:
            out.write(document + "\n")
        else:
            args.out.write_text(document + "\n", encoding="utf-8")
            out.write(f"exported {args.customer} to {args.out}\n")
        return 0
    if not args.yes:
        raise PolicyDeskError(
            f"erasing {args.customer} cannot be undone: run again with --yes to confirm"
        )
    erased = privacy.erase(user, args.customer)
    out.write(
        f"erased {erased.customer_id}: deleted "
        + ", ".join(f"{k} {v}" for k, v in erased.deleted.items())
        + "; anonymised "
        + ", ".join(f"{k} {v}" for k, v in erased.anonymised.items())
        + "\n"
    )
    return 0


COMMANDS = {"privacy": cmd_privacy}
