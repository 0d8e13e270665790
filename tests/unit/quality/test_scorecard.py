"""The automated QA scorecard: each item's pass, fail and na, its evidence, the score, and the
scorecard file's validation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from conversation.models import Speaker
from core.errors import ConfigurationError
from core.settings import PROJECT_ROOT
from quality.models import ContactKind, ContactRecord, ContactTurn, Outcome
from quality.scorecard import ItemId, Scorecard, load_scorecard, score_contact

SHIPPED = PROJECT_ROOT / "data" / "quality" / "scorecard.yaml"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CARD = load_scorecard(SHIPPED)

GOOD = [
    "A:您好，很高兴为您服务，请问有什么可以帮您？",
    "C:我刚被追尾了，想报个案。",
    "A:好的，先核实一下您的身份，请提供投保人姓名和身份证后四位。",
    "C:王建国，3312。",
    "A:核实无误，您的保单目前在保障期内，已经帮您报案了，24小时内会有查勘员联系您。",
    "C:好的。",
    "A:不客气，还有其他可以帮您的吗？",
]


def _turn(line: str, **more: Any) -> ContactTurn:
    speaker = {"A": Speaker.AGENT, "C": Speaker.CUSTOMER, "B": Speaker.BOT}[line[0]]
    return ContactTurn(speaker=speaker, text=line[2:], **more)


def _contact(
    lines: list[str],
    upset: tuple[int, ...] = (),
    findings: dict[int, list[tuple[str, str]]] | None = None,
    disposition: str = "已报案",
    suggested: str = "已报案",
    kind: ContactKind = ContactKind.AGENT,
) -> ContactRecord:
    turns = []
    for index, line in enumerate(lines):
        found = (findings or {}).get(index, [])
        turns.append(
            _turn(
                line,
                upset=index in upset,
                findings=[rule for rule, _ in found],
                finding_spans=[span for _, span in found],
            )
        )
    return ContactRecord(
        id="c-1",
        kind=kind,
        channel="phone",
        started_at=NOW,
        ended_at=NOW,
        handle_s=60.0,
        disposition=disposition,
        suggested_disposition=suggested,
        turns=turns,
    )


def _outcome(contact: ContactRecord, item: ItemId) -> Outcome:
    score = score_contact(contact, CARD, NOW).item(item.value)
    assert score is not None
    return score.outcome


# ---------------------------------------------------------------------------- the whole card


def test_a_good_contact_passes_every_applicable_item() -> None:
    result = score_contact(_contact(GOOD), CARD, NOW)
    outcomes = {s.item: s.outcome for s in result.items}
    assert outcomes == {
        "greeting_identity": Outcome.PASS,
        "empathy": Outcome.NA,
        "accuracy": Outcome.NA,
        "redlines": Outcome.PASS,
        "next_step": Outcome.PASS,
        "disposition": Outcome.PASS,
        "closing": Outcome.PASS,
    }
    assert result.score == 100.0
    assert result.redlines == 0
    assert result.scorecard == "坐席质检评分卡 2026.12-1"
    assert result.scored_at == NOW


def test_the_score_weighs_passes_over_applicable_items() -> None:
    # redlines (weight 2) fails; greeting, next_step, disposition, closing (1 each) pass
    contact = _contact(GOOD, findings={4: [("promise-full-payout", "已经帮您报案了")]})
    result = score_contact(contact, CARD, NOW)
    assert result.score == pytest.approx(100 * 4 / 6, abs=0.1)
    assert result.redlines == 1


def test_no_applicable_item_gives_no_score() -> None:
    card = CARD.model_copy(deep=True)
    for item in card.items:
        item.applies_to = [ContactKind.AGENT]
    card.model_post_init(None)
    result = score_contact(_contact(["B:您好", "C:谢谢"], kind=ContactKind.BOT), card, NOW)
    assert result.score is None
    assert all(s.outcome is Outcome.NA for s in result.items)


# ------------------------------------------------------------------------------ greeting


def test_greeting_evidence_names_the_span_and_its_offset() -> None:
    score = score_contact(_contact(GOOD), CARD, NOW).item("greeting_identity")
    assert score is not None
    greeting = score.evidence[0]
    assert (greeting.turn, greeting.speaker, greeting.span, greeting.start) == (
        0,
        Speaker.AGENT,
        "您好",
        0,
    )
    assert greeting.source == "rule:greeting_identity.greeting"


def test_no_greeting_in_the_first_agent_turn_fails() -> None:
    lines = ["A:请讲。", *GOOD[1:]]
    assert _outcome(_contact(lines), ItemId.GREETING_IDENTITY) is Outcome.FAIL


def test_a_later_greeting_does_not_count() -> None:
    lines = ["C:喂？", "A:请讲。", "C:你好", "A:您好，请问什么事？"]
    assert _outcome(_contact(lines), ItemId.GREETING_IDENTITY) is Outcome.FAIL


def test_account_details_before_an_identity_check_fail() -> None:
    lines = [
        "A:您好，请问有什么可以帮您？",
        "C:我想问下我的案子。",
        "A:系统显示您的案件已经定损完成，定损金额是3200元。",
        "C:好。",
        "A:请提供一下身份证后四位。",
    ]
    score = score_contact(_contact(lines), CARD, NOW).item("greeting_identity")
    assert score is not None and score.outcome is Outcome.FAIL
    assert score.evidence[-1].source == "rule:greeting_identity.disclosure"
    assert score.evidence[-1].turn == 2


# ------------------------------------------------------------------------------- empathy


def test_empathy_is_na_when_the_customer_was_never_upset() -> None:
    assert _outcome(_contact(GOOD), ItemId.EMPATHY) is Outcome.NA


def test_empathy_passes_when_the_next_agent_turn_acknowledges() -> None:
    lines = ["A:您好。", "C:你们凭什么拒赔！", "A:非常理解您的心情，我先核实一下。"]
    score = score_contact(_contact(lines, upset=(1,)), CARD, NOW).item("empathy")
    assert score is not None and score.outcome is Outcome.PASS
    assert score.evidence[-1].turn == 2 and score.evidence[-1].span.startswith("理解")


def test_empathy_fails_when_the_next_agent_turn_goes_to_business() -> None:
    lines = ["A:您好。", "C:你们凭什么拒赔！", "A:请提供身份证后四位。", "A:非常抱歉。"]
    assert _outcome(_contact(lines, upset=(1,)), ItemId.EMPATHY) is Outcome.FAIL


def test_a_bad_news_preamble_is_not_empathy() -> None:
    lines = ["A:您好。", "C:太坑了吧！", "A:不好意思跟您说，这个规定就是这样。"]
    assert _outcome(_contact(lines, upset=(1,)), ItemId.EMPATHY) is Outcome.FAIL


def test_empathy_fails_when_no_agent_turn_follows() -> None:
    assert _outcome(_contact(["A:您好。", "C:气死我了！"], upset=(1,)), ItemId.EMPATHY) is (
        Outcome.FAIL
    )


# ------------------------------------------------------------------------------ accuracy


def test_a_contradiction_fails_accuracy_naming_its_clause() -> None:
    lines = ["A:您好。", "C:轮胎扎了能赔吗？", "A:轮胎单独爆了车损险就赔。"]
    score = score_contact(_contact(lines), CARD, NOW).item("accuracy")
    assert score is not None and score.outcome is Outcome.FAIL
    evidence = score.evidence[0]
    assert evidence.source == "rule:accuracy.tyre-alone"
    assert "车轮单独损失险" in evidence.note
    assert lines[2][2:][evidence.start :].startswith(evidence.span)


def test_a_misleading_guard_finding_fails_accuracy() -> None:
    lines = ["A:您好。", "C:能赔吗？", "A:这个情况都能赔的。"]
    contact = _contact(lines, findings={2: [("model-misleading", "这个情况都能赔的。")]})
    score = score_contact(contact, CARD, NOW).item("accuracy")
    assert score is not None and score.outcome is Outcome.FAIL
    assert score.evidence[0].source == "guard:model-misleading"


def test_another_guard_finding_leaves_accuracy_alone() -> None:
    contact = _contact(GOOD, findings={4: [("promise-full-payout", "已经帮您报案了")]})
    assert _outcome(contact, ItemId.ACCURACY) is Outcome.NA


def test_a_correct_coverage_statement_passes_accuracy() -> None:
    lines = ["A:您好。", "C:自燃管吗？", "A:自燃损失已经包含在车损险责任里，可以赔。"]
    assert _outcome(_contact(lines), ItemId.ACCURACY) is Outcome.PASS


def test_accuracy_is_na_without_a_coverage_statement() -> None:
    assert _outcome(_contact(GOOD), ItemId.ACCURACY) is Outcome.NA


# ------------------------------------------------------------------------------ redlines


def test_redlines_count_findings_on_agent_turns_only() -> None:
    contact = _contact(
        GOOD,
        findings={
            1: [("promise-full-payout", "报个案")],  # a customer turn: not the agent's
            4: [("date-payout-promise", "24小时内"), ("off-channel-link", "查勘员")],
        },
    )
    result = score_contact(contact, CARD, NOW)
    score = result.item("redlines")
    assert score is not None and score.outcome is Outcome.FAIL
    assert [e.source for e in score.evidence] == [
        "guard:date-payout-promise",
        "guard:off-channel-link",
    ]
    assert score.evidence[0].span == "24小时内"
    assert score.evidence[0].start == GOOD[4][2:].index("24小时内")
    assert result.redlines == 2


def test_a_bot_contact_counts_the_bot_turns() -> None:
    lines = ["C:能赔吗", "B:您好，肯定全赔。", "C:好"]
    contact = _contact(
        lines, findings={1: [("promise-full-payout", "肯定全赔")]}, kind=ContactKind.BOT
    )
    result = score_contact(contact, CARD, NOW)
    assert result.redlines == 1
    assert result.item("disposition").outcome is Outcome.NA  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- next step


def test_next_step_is_na_when_nothing_is_left_to_do() -> None:
    lines = ["A:您好。", "C:周末营业吗？", "A:周末正常营业。", "A:还有其他问题吗？"]
    contact = _contact(lines, disposition="已解答", suggested="已解答")
    assert _outcome(contact, ItemId.NEXT_STEP) is Outcome.NA


def test_next_step_fails_with_no_time() -> None:
    lines = ["A:您好。", "C:报案。", "A:已经帮您报案了，后面等通知。"]
    assert _outcome(_contact(lines), ItemId.NEXT_STEP) is Outcome.FAIL


def test_a_guaranteed_time_is_not_a_process_time() -> None:
    lines = ["A:您好。", "C:报案。", "A:已经帮您报案了，明天一定到账。"]
    assert _outcome(_contact(lines), ItemId.NEXT_STEP) is Outcome.FAIL


def test_an_offer_not_taken_up_leaves_nothing_to_do() -> None:
    lines = ["A:您好。", "C:玻璃裂了。", "A:需要现在帮您报案吗？", "C:先不用。"]
    contact = _contact(lines, disposition="已解答", suggested="已解答")
    assert _outcome(contact, ItemId.NEXT_STEP) is Outcome.NA


def test_agreeing_open_dispositions_open_the_item() -> None:
    lines = ["A:您好。", "C:车坏了。", "A:好的。"]
    assert _outcome(_contact(lines), ItemId.NEXT_STEP) is Outcome.FAIL
    mixed = _contact(lines, disposition="已报案", suggested="已解答")
    assert _outcome(mixed, ItemId.NEXT_STEP) is Outcome.NA


# --------------------------------------------------------------------------- disposition


def test_disposition_against_the_draft() -> None:
    assert _outcome(_contact(GOOD), ItemId.DISPOSITION) is Outcome.PASS
    wrong = score_contact(_contact(GOOD, disposition="已解答"), CARD, NOW).item("disposition")
    assert wrong is not None and wrong.outcome is Outcome.FAIL
    assert wrong.evidence[0].source == "disposition" and wrong.evidence[0].span == "已解答"
    assert _outcome(_contact(GOOD, disposition=""), ItemId.DISPOSITION) is Outcome.NA


# ------------------------------------------------------------------------------- closing


def test_closing_in_one_of_the_last_two_agent_turns_passes() -> None:
    lines = [*GOOD[:-1], "A:感谢您的来电。", "C:嗯。", "A:报案号稍后短信发您。"]
    assert _outcome(_contact(lines), ItemId.CLOSING) is Outcome.PASS


def test_closing_earlier_than_the_last_two_agent_turns_fails() -> None:
    lines = ["A:您好，感谢您的来电。", "C:嗯。", "A:好的。", "C:嗯。", "A:知道了。"]
    assert _outcome(_contact(lines), ItemId.CLOSING) is Outcome.FAIL


# ----------------------------------------------------------------------- the scorecard file


def _write(tmp_path: Path, change: Any) -> Path:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "scorecard.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_scorecard_has_every_item_once() -> None:
    assert sorted(i.id.value for i in CARD.items) == sorted(i.value for i in ItemId)
    assert all(i.weight > 0 and i.applies_to for i in CARD.items)


def test_a_bad_pattern_names_the_item(tmp_path: Path) -> None:
    def bad(data: dict[str, Any]) -> None:
        data["items"][1]["patterns"]["empathy"]["patterns"].append("(unclosed")

    with pytest.raises(ConfigurationError, match=r"item 'empathy'.*bad regular expression"):
        load_scorecard(_write(tmp_path, bad))


def test_a_bad_contradiction_pattern_names_it(tmp_path: Path) -> None:
    def bad(data: dict[str, Any]) -> None:
        data["items"][2]["contradictions"][0]["patterns"] = ["[x"]

    with pytest.raises(ConfigurationError, match=r"item 'accuracy': contradictions\.\S+"):
        load_scorecard(_write(tmp_path, bad))


def test_an_unknown_item_is_refused(tmp_path: Path) -> None:
    def unknown(data: dict[str, Any]) -> None:
        data["items"][0]["id"] = "greeting"

    with pytest.raises(ConfigurationError, match="greeting"):
        load_scorecard(_write(tmp_path, unknown))


def test_a_missing_item_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"missing item.*closing"):
        load_scorecard(_write(tmp_path, lambda data: data["items"].pop()))


def test_a_missing_pattern_group_names_the_item(tmp_path: Path) -> None:
    def missing(data: dict[str, Any]) -> None:
        del data["items"][4]["patterns"]["time"]

    with pytest.raises(ConfigurationError, match=r"item 'next_step'.*missing group.*time"):
        load_scorecard(_write(tmp_path, missing))


def test_a_scorecard_validates_from_a_mapping() -> None:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert Scorecard.model_validate(data).title == CARD.title
