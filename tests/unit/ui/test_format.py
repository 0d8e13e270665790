from __future__ import annotations

from ui.format import (
    escape_markdown,
    highlight_markdown,
    highlight_segments,
    marked_draft,
    stage_track,
)


def test_segments_reassemble_the_text_and_prefer_longest_terms() -> None:
    text = "车损险和车损的区别"
    segments = highlight_segments(text, ["车损", "车损险"])
    assert "".join(s for s, _ in segments) == text
    assert segments[0] == ("车损险", True)
    assert ("车损", True) in segments


def test_no_terms_means_one_plain_segment() -> None:
    assert highlight_segments("涉水行驶", []) == [("涉水行驶", False)]
    assert highlight_segments("", ["涉水"]) == []


def test_markdown_is_escaped_outside_and_inside_highlights() -> None:
    rendered = highlight_markdown("赔付*50%*[见条款]", ["赔付"])
    assert rendered.startswith(":orange-background[赔付]")
    assert "\\*" in rendered and "\\[" in rendered
    assert escape_markdown("a_b") == "a\\_b"


def test_newlines_become_markdown_line_breaks() -> None:
    assert highlight_markdown("第一行\n第二行", []) == "第一行  \n第二行"


def test_stage_track_marks_done_current_and_pending() -> None:
    stages = ["报案", "查勘", "定损", "核赔", "支付"]
    assert stage_track(stages, "定损") == "✅报案 → ✅查勘 → 🔵定损 → ⚪核赔 → ⚪支付"
    assert stage_track(stages, "支付").count("✅") == 5
    assert "✅" not in stage_track(stages, "未知") and "🔵" not in stage_track(stages, "未知")


def test_marked_draft_highlights_spans_and_escapes() -> None:
    text = "这个*肯定*全赔。"
    start = text.index("全赔")
    rendered = marked_draft(text, [(start, start + 2)])
    assert ":red-background[全赔]" in rendered
    assert "\\*" in rendered
    assert marked_draft("没有问题", []) == "没有问题"


def test_kpi_figures_read_as_percent_seconds_points_and_signed_nps() -> None:
    from quality.kpis import KpiValue
    from ui.format import kpi_text

    def figure(value: float | None, unit: str = "") -> KpiValue:
        return KpiValue(value=value, definition="d", n=3, unit=unit)

    assert kpi_text("fcr", figure(0.8125)) == "81.2%"
    assert kpi_text("card_helpfulness", figure(0.5)) == "50.0%"
    assert kpi_text("aht_s", figure(312.4, "秒")) == "312 秒"
    assert kpi_text("aht_s", figure(312.4, "秒"), {"秒": "s"}) == "312 s"
    assert kpi_text("qa_score", figure(85.25, "分")) == "85.2 分"
    assert kpi_text("nps", figure(12.0)) == "+12"
    assert kpi_text("redlines_per_100", figure(1.5)) == "1.5"
    assert kpi_text("fcr", figure(None)) == "—"
