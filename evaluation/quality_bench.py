"""Quality and KPIs under measurement: the automated scorecard against a blind labelled set, and
the dashboard's time per view over 90 days of 50 agents on SQLite and on PostgreSQL.

The scorecard's agreement replays each labelled contact through the live pipeline
(``evaluation.qa_bench``). The dashboard's history is the demo history's generator at 50 agents
(``services.demo_history.history_contacts``: the scenarios run once through the live services,
then copied per planned contact) recorded with ``ContactStore.record_many``; a *view* is what the
dashboard page reads on each rerun: the figures, the daily trend, the agents' and teams' tables
and the handoff reasons (``QualityService.dashboard``), the team and agent choosers, and the first
500 contacts of a drill-down.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from core.errors import PolicyDeskError
from core.settings import PROJECT_ROOT, Settings
from evaluation.qa_bench import QaAgreement, qa_agreement
from quality.kpis import KpiFilter, default_period
from quality.models import ContactRecord
from services.demo_history import history_contacts, run_templates
from services.root import Services
from tools.engines import EngineStartError, postgres_bin, postgres_server

BLIND_SETS = (PROJECT_ROOT / "data" / "eval" / "qa_blind1.jsonl",)
AGENTS = 50
DAYS = 90
CUSTOMERS = 20_000
REPEATS = 5


class ViewTiming(BaseModel):
    """One view's time over several reads."""

    view: str
    median_s: float
    max_s: float


class EngineTiming(BaseModel):
    """The dashboard on one engine."""

    engine: str
    contacts: int
    load_s: float
    views: list[ViewTiming]
    record_ms: float
    """The median time to record one more contact (its roll-up recounted)."""


def time_views(
    services: Services, contacts: Sequence[ContactRecord]
) -> tuple[list[ViewTiming], float]:
    """Each view's median and slowest read, and the median time to record one more contact."""
    quality = services.quality
    last = max(c.started_at for c in contacts).astimezone(services.settings.centre_zone).date()
    start, end = default_period(last)
    whole = KpiFilter(start=start, end=end)
    team = next(c.team for c in contacts if c.team)
    agent = next(c.agent for c in contacts if c.agent)
    views = {
        "centre, 90 days": whole,
        f"team {team}, 90 days": KpiFilter(start=start, end=end, team=team),
        f"agent {agent}, 90 days": KpiFilter(start=start, end=end, agent=agent),
        "centre, last 7 days": KpiFilter(start=end - timedelta(days=6), end=end),
    }
    timings: list[ViewTiming] = []
    # the benchmark itself holds the whole generated history (tens of thousands of records with
    # their turns): keep the collector from walking it during the reads, which a console
    # process would not hold
    gc.collect()
    gc.freeze()
    for name, view in views.items():

        def read(view: KpiFilter = view) -> None:
            quality.dashboard(view)
            quality.teams(whole)
            quality.agents(view)
            quality.drill(view, "fcr", 500)

        samples = _timed(read, REPEATS)
        timings.append(
            ViewTiming(view=name, median_s=statistics.median(samples), max_s=max(samples))
        )
    gc.unfreeze()
    template = next(c for c in contacts if c.agent)
    records = _timed(
        lambda: services.contacts.record(
            template.model_copy(update={"id": f"bench-{time.perf_counter_ns()}"})
        ),
        20,
    )
    return timings, 1000 * statistics.median(records)


def _timed(action: Callable[[], object], times: int) -> list[float]:
    action()  # warm: connections, caches
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return samples


def _on(engine: str, settings: Settings, contacts: Sequence[ContactRecord]) -> EngineTiming:
    services = Services(settings)
    services.upgrade_database()
    began = time.perf_counter()
    services.contacts.record_many(contacts)
    loaded = time.perf_counter() - began
    views, record_ms = time_views(services, contacts)
    services.close()
    return EngineTiming(
        engine=engine, contacts=len(contacts), load_s=loaded, views=views, record_ms=record_ms
    )


def dashboard_timings(settings: Settings, notes: list[str]) -> list[EngineTiming]:
    """The history of 50 agents over 90 days on SQLite and, when installed, PostgreSQL 15.

    Raises:
        PolicyDeskError: the scenarios could not run (no index, models or demo agent).
    """
    from evaluation.api_load import _isolated

    results: list[EngineTiming] = []
    with tempfile.TemporaryDirectory(prefix="quality-bench-") as tmp:
        folder = Path(tmp)
        isolated = _isolated(settings, folder)
        live = Services(isolated or settings)
        live.upgrade_database()
        runs = run_templates(live)  # the copy's database only
        today = datetime.now(UTC).astimezone(settings.centre_zone).date()
        customers = [f"B{i:05d}" for i in range(CUSTOMERS)]
        contacts = history_contacts(today, DAYS, AGENTS, 7, runs, customers)
        empty = settings.model_copy(update={"data_dir": folder / "sqlite", "database_url": None})
        (folder / "sqlite").mkdir()
        results.append(_on("SQLite", empty, contacts))
        if postgres_bin() is None:
            notes.append("PostgreSQL: skipped (not installed; `make test-engines` installs it).")
            return results
        os.chmod(folder, 0o711)  # the cluster's owner reaches its folder inside
        try:
            with postgres_server(folder / "pg", durable=True) as postgres:
                on_pg = settings.model_copy(
                    update={"data_dir": folder / "pgvar", "database_url": postgres.url}
                )
                results.append(_on("PostgreSQL 15", on_pg, contacts))
        except EngineStartError as exc:
            notes.append(f"PostgreSQL: could not start ({exc}).")
    return results


def agreement_rows(report: QaAgreement) -> list[str]:
    """One table row per scorecard item."""
    rows = []
    for item in report.items:
        kappa = "-" if item.kappa is None else f"{item.kappa:.2f}"
        rows.append(f"| {item.item} | {item.agreement:.3f} | {kappa} | {_labels(item.confusion)} |")
    return rows


def _labels(confusion: dict[str, dict[str, int]]) -> str:
    return "; ".join(
        f"{label}: {sum(row.values())}" for label, row in sorted(confusion.items()) if row
    )


def bench_quality(settings: Settings, lines: list[str]) -> None:
    """Append the quality section: scorecard agreement on the blind sets, dashboard timings.

    Raises:
        PolicyDeskError: a set or the scenarios could not be read or run.
    """
    from evaluation.api_load import _isolated

    lines += [
        "## Quality: the automated scorecard and the KPI dashboard",
        "",
        "Scorecard agreement: each labelled contact replayed through the live pipeline (emotion, "
        "guard, wrap-up draft), then scored by `data/quality/scorecard.yaml`; agreement is the "
        "share of contacts whose automated outcome (pass / fail / na) equals the label. The blind "
        "set was written after tuning by a separate author from `docs/qa_labelling.md` alone and "
        "is measured once; the scorer was tuned on `data/eval/qa_dev.jsonl` (role: tuning, not "
        "reported here).",
        "",
    ]
    for path in BLIND_SETS:
        with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
            isolated = _isolated(settings, Path(tmp))
            services = Services(isolated or settings)
            services.upgrade_database()
            began = time.perf_counter()
            report = qa_agreement(services, path)
            took = time.perf_counter() - began
        lines += [
            f"`{path.relative_to(PROJECT_ROOT)}` (role: blind; {report.contacts} contacts; "
            f"{report.scorecard}; {took:.0f} s):",
            "",
            "| item | agreement | Cohen's kappa | labels |",
            "|---|---:|---:|---|",
            *agreement_rows(report),
            "",
            f"Overall (contact × item): {report.overall:.3f}.",
            "",
        ]
    notes: list[str] = []
    timings = dashboard_timings(settings, notes)
    lines += [
        f"Dashboard (服务看板) time per view, {AGENTS} agents over {DAYS} days (the demo "
        "history's generator at 50 agents, recorded through `ContactStore.record_many`). A view "
        "is everything the page reads on a rerun; median and slowest of "
        f"{REPEATS} reads. Target: ≤ 1 s per view on both engines.",
        "",
        "| engine | contacts | load | view | median | slowest | record one contact |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for result in timings:
        for view in result.views:
            lines.append(
                f"| {result.engine} | {result.contacts:,} | {result.load_s:.0f} s | {view.view} "
                f"| {view.median_s * 1000:.0f} ms | {view.max_s * 1000:.0f} ms "
                f"| {result.record_ms:.0f} ms |"
            )
    lines += ["", *notes, ""] if notes else [""]


def main() -> None:
    """Run the quality benchmark and print its section."""
    lines: list[str] = []
    try:
        bench_quality(Settings(), lines)
    except PolicyDeskError as exc:
        raise SystemExit(f"quality_bench: {exc}") from None
    print("\n".join(lines))


if __name__ == "__main__":
    main()
