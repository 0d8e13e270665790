"""``policydesk user|kb|eval``: the trainer studio for scripted use.

Every ``kb`` and ``eval`` command acts as a local account (``--user``, or ``POLICYDESK_USER``)
whose password comes from ``POLICYDESK_PASSWORD`` or, on a terminal, a prompt; the same role
checks and workflow rules apply as in the browser.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TextIO

from accounts.models import Role, User
from accounts.passwords import DEMO_PASSWORD
from core.errors import PolicyDeskError
from core.files import write_atomically
from core.models import PassageKind
from core.settings import PROJECT_ROOT
from services.root import Services
from studio.diff import render_value
from studio.items import ItemKind, ItemQuery, ItemStatus

DEMO_ACCOUNTS = [
    ("agent01", "坐席 王小青", Role.AGENT),
    ("trainer01", "培训师 李思远", Role.TRAINER),
    ("reviewer01", "审核员 陈立", Role.REVIEWER),
    ("supervisor01", "主管 赵敏", Role.SUPERVISOR),
]
# the demo agent's staff profile: team and authority level (分层授权)
DEMO_PROFILES = [("agent01", "坐席 王小青", "一组", "senior")]
DEV_QUESTIONS = PROJECT_ROOT / "data" / "eval" / "dev_questions.jsonl"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``user``, ``kb`` and ``eval`` on the main parser's subcommands."""
    user = sub.add_parser("user", help="local accounts and roles")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser(
        "add", help="create an account (password from POLICYDESK_NEW_PASSWORD or a prompt)"
    )
    add.add_argument("username")
    add.add_argument(
        "--role", action="append", required=True, choices=[r.value for r in Role], dest="roles"
    )
    add.add_argument("--display-name", default="")
    user_sub.add_parser("list", help="accounts and their roles")
    user_sub.add_parser("seed-demo", help="one demo account per role (once)")

    kb = sub.add_parser("kb", help="curate the knowledge base (versions, review, publishing)")
    kb.add_argument("--user", default=os.environ.get("POLICYDESK_USER"), help="acting account")
    kb.add_argument("--json", action="store_true", help="machine-readable output")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_sub.add_parser("seed", help="register the shipped demo content as published items (once)")
    imp = kb_sub.add_parser("import", help="import documents as draft items")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--kind", choices=[k.value for k in PassageKind], help="default kind")
    imp.add_argument("--dry-run", action="store_true", help="show the split; save nothing")
    imp.add_argument("--submit", action="store_true", help="send the drafts to review")
    lst = kb_sub.add_parser("list", help="items with filters")
    lst.add_argument("--kind", choices=[k.value for k in ItemKind])
    lst.add_argument("--status", choices=[s.value for s in ItemStatus])
    lst.add_argument("--product")
    lst.add_argument("--effective-on", type=date.fromisoformat, metavar="YYYY-MM-DD")
    lst.add_argument("--text")
    show = kb_sub.add_parser("show", help="one item with its versions")
    show.add_argument("item_id")
    show.add_argument("--version", type=int)
    diff = kb_sub.add_parser("diff", help="two versions side by side")
    diff.add_argument("item_id")
    diff.add_argument("before", type=int)
    diff.add_argument("after", type=int)
    for name, text in (
        ("submit", "send a draft to review"),
        ("publish", "publish an item in review (not your own)"),
        ("retire", "take an item out of service"),
        ("request-changes", "send an item in review back to its author"),
    ):
        step = kb_sub.add_parser(name, help=text)
        step.add_argument("item_id")
        step.add_argument("--note", default="")
    rollback = kb_sub.add_parser("rollback", help="publish an earlier published version again")
    rollback.add_argument("item_id")
    rollback.add_argument("version", type=int)
    rollback.add_argument("--note", default="")
    export = kb_sub.add_parser(
        "export", help="items as JSON Lines: each with its latest and live version, content typed"
    )
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--status", choices=[s.value for s in ItemStatus])
    audit = kb_sub.add_parser("audit", help="the audit log")
    audit.add_argument("--actor")
    audit.add_argument("--action", help="exact action or a prefix ending in '.' (e.g. kb.)")
    audit.add_argument("--csv", type=Path, help="write CSV here")

    ev = sub.add_parser("eval", help="run the golden question set against the live index")
    ev.add_argument("--user", default=os.environ.get("POLICYDESK_USER"), help="acting account")
    ev.add_argument("--drafts", action="store_true", help="as if unpublished drafts were live")
    ev.add_argument("--seed", action="store_true", help="load the dev questions when empty")
    ev.add_argument("--json", action="store_true", help="machine-readable output")

    routing = sub.add_parser(
        "routing", help="review the chatbot's routing decisions the learned detector made alone"
    )
    routing.add_argument("--user", default=os.environ.get("POLICYDESK_USER"), help="acting account")
    routing.add_argument("--json", action="store_true", help="machine-readable output")
    routing_sub = routing.add_subparsers(dest="routing_command", required=True)
    pending = routing_sub.add_parser("list", help="entries waiting for a label (oldest first)")
    pending.add_argument("--all", action="store_true", help="labelled ones too")
    label = routing_sub.add_parser("label", help="the route a message should have taken")
    label.add_argument("review_id")
    label.add_argument("route", choices=["bot", "human"])
    label.add_argument(
        "--reason",
        action="append",
        default=None,
        dest="reasons",
        help="a human trigger (repeatable); default for 'human': the decision's own",
    )
    export = routing_sub.add_parser(
        "export", help="labelled entries as a routing set (train with --author-set FILE)"
    )
    export.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")


def _password(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise PolicyDeskError(f"no password: set {env} or run on a terminal to be prompted")


def login(services: Services, username: str | None) -> User:
    """The acting account of a command (``--user`` and its password), throttled like the console.

    Raises:
        PolicyDeskError: no account named, no password, a wrong one, or throttled.
    """
    if not username:
        raise PolicyDeskError("which account? pass --user NAME or set POLICYDESK_USER")
    password = _password("POLICYDESK_PASSWORD", "password: ")
    return services.login.login(username, password, client="cli")


def _dump(out: TextIO, value: object) -> None:
    out.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")


def cmd_user(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    accounts = services.accounts
    if args.user_command == "add":
        password = _password("POLICYDESK_NEW_PASSWORD", f"password for {args.username}: ")
        user = accounts.add(args.username, password, args.roles, args.display_name)
        services.audit.record("cli", "user.add", user.username, ",".join(args.roles))
        out.write(f"added {user.username} ({', '.join(r.value for r in user.sorted_roles())})\n")
    elif args.user_command == "list":
        for user in accounts.list():
            state = "" if user.active else " (inactive)"
            roles = ", ".join(r.value for r in user.sorted_roles())
            out.write(f"{user.username}\t{roles}\t{user.display_name}{state}\n")
    else:
        existing = {u.username for u in accounts.list()}
        for username, display, role in DEMO_ACCOUNTS:
            if username not in existing:
                accounts.add(username, DEMO_PASSWORD, [role], display, demo=True)
                services.audit.record("setup", "user.add", username, role.value)
                out.write(f"added demo account {username} ({role.value})\n")
        for username, display, team, level in DEMO_PROFILES:
            if not services.staff.exists(username):  # a supervisor's later change stays
                services.staff.set(username, display, team, level)
                services.audit.record("setup", "staff.set", username, f"{team} {level}")
                out.write(f"added staff profile {username} ({team}, {level})\n")
    return 0


def cmd_kb(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    studio = services.studio
    if args.kb_command == "seed":
        from prompts.guard import ComplianceGuard
        from retrieval.synonyms import TermMap
        from sentiment.data import load_labelled
        from sentiment.scripts import ScriptLibrary
        from studio.overlays import rule_seed_entries, script_seed_entries, term_seed_entries
        from studio.utterances import seed_entries

        settings = services.settings
        report = studio.seed_published(services.catalog.passages())
        folder = settings.sentiment_data
        utterances = studio.seed_contents(
            seed_entries(
                load_labelled(folder / "train.jsonl"),
                load_labelled(folder / "dev.jsonl"),
                source=str(folder),
            )
        )
        # the shipped files themselves, not services.scripts & co., which already merge the studio
        terms_file = settings.terms_dir / "synonyms.tsv"
        curated = {
            "soothing scripts": script_seed_entries(
                ScriptLibrary.load(settings.scripts_file).scripts, str(settings.scripts_file)
            ),
            "terms": term_seed_entries(TermMap.load(terms_file), str(terms_file)),
            "compliance rules": rule_seed_entries(
                ComplianceGuard.load(settings.compliance_rules).rules,
                str(settings.compliance_rules),
            ),
        }
        counts: list[str] = []
        for noun, entries in curated.items():
            seeded = studio.seed_contents(entries)
            counts.append(f"{seeded.added} {noun} ({seeded.skipped} already there)")
        golden = (
            services.golden.seed_from_jsonl(DEV_QUESTIONS) if not services.golden.count() else 0
        )
        out.write(
            f"registered {report.added} published items ({report.skipped} already there), "
            f"{utterances.added} labelled utterances ({utterances.skipped} already there), "
            f"{', '.join(counts)}; {golden} golden questions loaded\n"
        )
        return 0
    user = login(services, args.user)
    handler = {
        "import": _kb_import,
        "list": _kb_list,
        "show": _kb_show,
        "diff": _kb_diff,
        "export": _kb_export,
        "audit": _kb_audit,
    }.get(args.kb_command, _kb_step)
    return handler(services, user, args, out)


def _kb_import(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    from knowledge.readers import read_capped
    from studio.curation import save_import
    from studio.importer import import_batch

    files: list[tuple[str, bytes]] = []
    for path in args.files:
        files.append((path.name, read_capped(path)))  # refuses links and oversized files
    kind = PassageKind(args.kind) if args.kind else None
    report = import_batch(files, kind)
    status = 0 if not report.failed else 1
    for result in report.results:
        if not result.ok:
            out.write(f"FAILED {result.filename}: {result.reason}\n")
    for preview in report.previews:
        out.write(f"{preview.filename}: {len(preview.articles)} articles\n")
        for warning in preview.warnings:
            out.write(f"  warning: {warning.message}\n")
        for article in preview.articles:
            out.write(f"  {article.id}\t{article.citation}\t{article.chars} chars\n")
        if args.dry_run:
            continue
        saved = save_import(services.studio, user, preview)
        if args.submit:
            for item_id in saved.created + saved.revised:
                services.studio.submit(user, item_id)
        out.write(
            f"  saved: {len(saved.created)} new, {len(saved.revised)} revised, "
            f"{len(saved.unchanged)} unchanged"
            + (" (sent to review)" if args.submit else "")
            + "\n"
        )
    return status


def _kb_list(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    query = ItemQuery(
        kind=args.kind,
        status=args.status,
        product=args.product,
        effective_on=args.effective_on,
        text=args.text,
    )
    for summary in services.studio.search(user, query):
        item = summary.item
        if args.json:
            _dump(out, {**item.model_dump(mode="json"), "title": summary.content.title})
        else:
            out.write(
                f"{item.id}\t{item.kind.value}\t{item.status.value}\tv{item.current_version}"
                f"\t{summary.content.label}\n"
            )
    return 0


def _kb_show(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    detail = services.studio.get(user, args.item_id)
    version = detail.version(args.version) if args.version else detail.current
    if version is None:
        raise PolicyDeskError(f"{args.item_id} has no version {args.version}")
    if args.json:
        _dump(
            out,
            {
                "item": detail.item.model_dump(mode="json"),
                "version": version.model_dump(mode="json"),
            },
        )
        return 0
    item = detail.item
    out.write(
        f"{item.id} ({item.kind.value}, {item.status.value}; live version: "
        f"{item.published_version or '-'})\n"
    )
    for v in detail.versions:
        mark = "*" if v.number == version.number else " "
        out.write(f" {mark}v{v.number} {v.at:%Y-%m-%d %H:%M} {v.author}: {v.note}\n")
    content = version.content
    out.write(f"\n{content.label}\n")
    fields = content.fields()
    for name, value in fields.items():
        # the main text goes last, whole; empty fields and "no" flags say nothing
        if name != content.body_field and value not in ("", None, [], False):
            out.write(f"{name}: {render_value(value)}\n")
    out.write(f"{render_value(fields[content.body_field])}\n")
    return 0


def _kb_diff(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    result = services.studio.diff(user, args.item_id, args.before, args.after)
    if args.json:
        _dump(out, result.model_dump(mode="json"))
        return 0
    for change in result.diff.changes:
        if change.field != "text":
            out.write(f"{change.field}: {change.before!r} -> {change.after!r}\n")
    for row in result.diff.text_rows:
        sign = {"equal": " ", "insert": "+", "delete": "-", "replace": "~"}[row.op.value]
        if row.op.value == "replace":
            out.write(f"- {row.left}\n+ {row.right}\n")
        else:
            out.write(f"{sign} {row.right or row.left}\n")
    return 0


def _kb_step(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    studio = services.studio
    command = args.kb_command
    if command == "submit":
        item = studio.submit(user, args.item_id, args.note)
    elif command == "publish":
        item = studio.publish(user, args.item_id, args.note)
    elif command == "retire":
        item = studio.retire(user, args.item_id, args.note)
    elif command == "request-changes":
        item = studio.request_changes(user, args.item_id, args.note)
    else:
        item = studio.rollback(user, args.item_id, args.version, args.note)
    out.write(
        f"{item.id}: {item.status.value} (latest v{item.current_version}, live "
        f"v{item.published_version or '-'})\n"
    )
    return 0


def _kb_export(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    studio = services.studio
    lines = []
    for summary in studio.search(user, ItemQuery(status=args.status, limit=10_000)):
        detail = studio.get(user, summary.item.id)
        published = detail.published
        lines.append(
            json.dumps(
                {
                    "item": detail.item.model_dump(mode="json"),
                    "latest": detail.current.model_dump(mode="json"),
                    "live": published.model_dump(mode="json") if published else None,
                },
                ensure_ascii=False,
            )
        )
    text = "".join(line + "\n" for line in lines)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        out.write(f"exported {len(lines)} items to {args.out}\n")
    else:
        out.write(text)
    return 0


def _kb_audit(services: Services, user: User, args: argparse.Namespace, out: TextIO) -> int:
    from accounts.permissions import Action, require
    from audit.log import AuditFilter, export_csv

    require(user, Action.EXPORT_AUDIT if args.csv else Action.VIEW_AUDIT)
    entries = services.audit.entries(AuditFilter(actor=args.actor, action=args.action))
    if args.csv:
        args.csv.write_text(export_csv(entries), encoding="utf-8-sig")
        out.write(f"wrote {len(entries)} entries to {args.csv}\n")
        return 0
    for entry in entries:
        out.write(
            f"{entry.at:%Y-%m-%d %H:%M:%S}\t{entry.actor}\t{entry.action}\t{entry.target}"
            f"\t{entry.detail}\n"
        )
    return 0


def terminal_progress(stream: TextIO) -> Callable[[int, int], None] | None:
    """A golden-set progress line rewritten in place on a terminal; None for a pipe or a file,
    where a line per question would only clutter a log.

    Args:
        stream: where to write (standard error, so ``--json`` output stays clean).
    """
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\rgolden set: {done}/{total} questions" + ("\n" if done == total else ""))
        stream.flush()

    return show


def cmd_eval(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from accounts.permissions import Action, require
    from studio.golden_eval import run_golden_eval, search_with

    user = login(services, args.user)
    require(user, Action.RUN_EVAL)
    if args.seed and not services.golden.count():
        services.golden.seed_from_jsonl(DEV_QUESTIONS)
    if args.drafts:
        search, label = services.draft_preview(user).searcher(), "draft preview"
    else:
        search, label = search_with(services.retriever(), services.embedder), "live"
    report, delta = run_golden_eval(
        services.golden,
        services.eval_runs,
        search,
        user.username,
        label,
        progress=terminal_progress(sys.stderr),
    )
    if args.json:
        _dump(
            out,
            {
                "label": label,
                "report": report.model_dump(mode="json"),
                "delta": delta.model_dump(mode="json"),
            },
        )
        return 0
    recall = "  ".join(f"R@{k} {report.recall[k]:.3f}" for k in report.ks)
    out.write(f"{label}: {report.questions} questions  {recall}  MRR@10 {report.mrr:.3f}\n")
    if delta.has_baseline:
        changes = "  ".join(f"R@{k} {v:+.3f}" for k, v in delta.recall.items())
        out.write(
            f"since the last live run: {changes}  MRR {delta.mrr or 0:+.3f}; "
            f"{len(delta.newly_fixed)} fixed, {len(delta.newly_broken)} broken\n"
        )
    for miss in report.misses:
        instead = ", ".join(p.citation or p.id for p in miss.top[:3])
        out.write(
            f"  miss: {miss.question} (expected {', '.join(miss.expected_ids)}; got {instead})\n"
        )
    return 0


def cmd_routing(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from accounts.permissions import Action, require
    from chatbot.review import as_jsonl, label_as
    from chatbot.understanding import Reason

    user = login(services, args.user)
    require(user, Action.REVIEW_ROUTING)
    log = services.routing_reviews
    if args.routing_command == "list":
        entries = log.entries(labelled=None if args.all else False)
        for entry in entries:
            if args.json:
                _dump(out, entry.model_dump(mode="json"))
                continue
            p = "—" if entry.learned_p is None else f"{entry.learned_p:.2f}"
            why = ",".join(r.value for r in (entry.overruled or entry.reasons))
            label = entry.label_route or "unlabelled"
            out.write(
                f"{entry.id}\t{entry.kind.value}\t{entry.route}\tp={p}\t{why}\t{label}"
                f"\t{entry.text}\n"
            )
        if not args.json:
            counts = log.counts()
            out.write(
                f"{len(entries)} shown; {counts['learned_only']} learned-only handoffs, "
                f"{counts['overruled']} overruled triggers, {counts['labelled']} labelled\n"
            )
        return 0
    if args.routing_command == "label":
        known = {r.value for r in Reason}
        unknown = [r for r in args.reasons or [] if r not in known]
        if unknown:
            raise PolicyDeskError(f"unknown reason: {', '.join(unknown)}")
        reasons = None if args.reasons is None else [Reason(r) for r in args.reasons]
        entry = label_as(user, log, services.audit, args.review_id, args.route, reasons)
        if args.json:
            _dump(out, entry.model_dump(mode="json"))
        else:
            said = " ".join([args.route, *(r.value for r in entry.label_reasons)])
            out.write(f"labelled {entry.id}: {said}\n")
        return 0
    records = log.export()
    write_atomically(args.out, as_jsonl(records))
    out.write(f"exported {len(records)} labelled messages to {args.out}\n")
    return 0


COMMANDS = {"user": cmd_user, "kb": cmd_kb, "eval": cmd_eval, "routing": cmd_routing}
