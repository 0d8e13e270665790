"""The hand-measured fresh-clone section survives `make bench` rewriting the report."""

from __future__ import annotations

from pathlib import Path

from evaluation.bench import SETUP_SECTION, kept_section


def test_the_section_is_carried_over_up_to_the_next_heading(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(
        f"# Benchmarks\n\n## Retrieval\n\nold figures\n\n{SETUP_SECTION}\n\n| step | time |\n"
        "| setup | 6.4 min |\n\n## Later\n\nmore\n",
        encoding="utf-8",
    )
    kept = kept_section(report, SETUP_SECTION)
    assert kept.startswith(f"\n{SETUP_SECTION}") and "6.4 min" in kept
    assert "old figures" not in kept and "## Later" not in kept


def test_nothing_is_kept_without_a_report_or_the_heading(tmp_path: Path) -> None:
    assert kept_section(tmp_path / "missing.md", SETUP_SECTION) == ""
    (tmp_path / "other.md").write_text("# Benchmarks\n\n## Retrieval\n", encoding="utf-8")
    assert kept_section(tmp_path / "other.md", SETUP_SECTION) == ""
