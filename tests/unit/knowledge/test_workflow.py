"""The curation workflow rules, state by state and action by action (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from core.models import Emotion
from prompts.guard import ComplianceRule, RuleCategory, Severity
from retrieval.synonyms import TermEntry
from sentiment.data import LabelledUtterance
from sentiment.scripts import SoothingScript
from studio.items import (
    ItemContent,
    ItemKind,
    ItemStatus,
    ItemVersion,
    KnowledgeItem,
    PassageContent,
    RuleContent,
    ScriptContent,
    TermContent,
    UtteranceContent,
    parse_content,
)
from studio.workflow import (
    ALLOWED_FROM,
    IllegalTransitionError,
    IndexEffect,
    InvalidItemError,
    SelfReviewError,
    Transition,
    WorkflowAction,
    applies_on,
    check_item_id,
    check_kind,
    check_note,
    plan_edit,
    plan_publish,
    plan_request_changes,
    plan_retire,
    plan_rollback,
    plan_submit,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
D, R, P, X = ItemStatus.DRAFT, ItemStatus.IN_REVIEW, ItemStatus.PUBLISHED, ItemStatus.RETIRED
W = WorkflowAction

# (action, from-state) -> the state after, or None when the action is refused
EXPECTED: dict[tuple[WorkflowAction, ItemStatus], ItemStatus | None] = {
    (W.EDIT, D): D,
    (W.EDIT, R): D,
    (W.EDIT, P): D,
    (W.EDIT, X): None,
    (W.SUBMIT, D): R,
    (W.SUBMIT, R): None,
    (W.SUBMIT, P): None,
    (W.SUBMIT, X): None,
    (W.REQUEST_CHANGES, D): None,
    (W.REQUEST_CHANGES, R): D,
    (W.REQUEST_CHANGES, P): None,
    (W.REQUEST_CHANGES, X): None,
    (W.PUBLISH, D): None,
    (W.PUBLISH, R): P,
    (W.PUBLISH, P): None,
    (W.PUBLISH, X): None,
    (W.RETIRE, D): X,
    (W.RETIRE, R): X,
    (W.RETIRE, P): X,
    (W.RETIRE, X): None,
    (W.ROLLBACK, D): P,
    (W.ROLLBACK, R): P,
    (W.ROLLBACK, P): P,
    (W.ROLLBACK, X): P,
}


def item(status: ItemStatus, current: int = 3, published: int | None = None) -> KnowledgeItem:
    return KnowledgeItem(
        id="t-1",
        kind=ItemKind.CLAUSE,
        status=status,
        current_version=current,
        published_version=published,
        created_by="tina",
        created_at=NOW,
        updated_at=NOW,
    )


def version(
    number: int, author: str = "tina", published: bool = False, item_id: str = "t-1"
) -> ItemVersion:
    return ItemVersion(
        item_id=item_id,
        number=number,
        content=PassageContent(kind=ItemKind.CLAUSE, title=f"v{number}", text=f"第{number}版条款"),
        author=author,
        at=NOW,
        status=D,
        published_by="rita" if published else None,
        published_at=NOW if published else None,
    )


def run(action: WorkflowAction, it: KnowledgeItem) -> Transition:
    if action is W.EDIT:
        return plan_edit(it)
    if action is W.SUBMIT:
        return plan_submit(it)
    if action is W.REQUEST_CHANGES:
        return plan_request_changes(it, "请补充免责条款")
    if action is W.PUBLISH:
        return plan_publish(it, version(it.current_version, author="tina"), "rita")
    if action is W.RETIRE:
        return plan_retire(it)
    return plan_rollback(it, version(1, published=True))


def test_the_table_covers_every_pair() -> None:
    assert set(EXPECTED) == {(a, s) for a in WorkflowAction for s in ItemStatus}
    for action, allowed in ALLOWED_FROM.items():
        assert allowed == {s for s in ItemStatus if EXPECTED[(action, s)] is not None}


@pytest.mark.parametrize(("action", "status"), list(EXPECTED))
def test_every_action_in_every_state(action: WorkflowAction, status: ItemStatus) -> None:
    published = 2 if status in (P, D, R) else None
    it = item(status, current=3 if status is not P else 2, published=published)
    expected = EXPECTED[(action, status)]
    if expected is None:
        with pytest.raises(IllegalTransitionError) as info:
            run(action, it)
        message = str(info.value)
        assert f"item t-1: it is {status.value}" in message
        assert action.verb in message
        assert (info.value.item_id, info.value.status, info.value.action) == ("t-1", status, action)
    else:
        assert run(action, it).status is expected


def test_edit_makes_a_new_draft_version_and_keeps_the_live_one() -> None:
    plan = plan_edit(item(P, current=2, published=2))
    assert (plan.status, plan.new_version, plan.published_version) == (D, 3, 2)
    assert plan.index is IndexEffect.NONE


def test_editing_an_item_in_review_withdraws_it() -> None:
    assert plan_edit(item(R)).status is D


def test_editing_a_retired_item_says_to_roll_back() -> None:
    with pytest.raises(
        IllegalTransitionError, match=r"cannot edit item t-1: it is retired .*rollback"
    ):
        plan_edit(item(X))


def test_submit_and_request_changes_keep_the_live_version() -> None:
    assert plan_submit(item(D, published=2)).published_version == 2
    back = plan_request_changes(item(R, published=2), "改一下")
    assert (back.status, back.published_version, back.new_version) == (D, 2, None)


def test_request_changes_needs_a_note() -> None:
    with pytest.raises(InvalidItemError, match="needs a note"):
        plan_request_changes(item(R), "  ")


def test_publish_makes_the_version_in_review_live_and_indexes_it() -> None:
    plan = plan_publish(item(R, current=3, published=2), version(3), "rita")
    assert (plan.status, plan.published_version, plan.new_version) == (P, 3, None)
    assert (plan.index, plan.index_version) == (IndexEffect.UPSERT, 3)


def test_the_author_cannot_publish_their_own_version() -> None:
    with pytest.raises(SelfReviewError, match="tina wrote version 3; a reviewer other than"):
        plan_publish(item(R), version(3, author="tina"), "tina")


def test_a_second_reviewer_may_publish_an_earlier_authors_edit() -> None:
    # rita wrote version 2, tina version 3: only the author of the version in review counts
    assert plan_publish(item(R), version(3, author="tina"), "rita").status is P


def test_publish_refuses_a_version_other_than_the_one_in_review() -> None:
    with pytest.raises(IllegalTransitionError, match="version 2 is not the version in review"):
        plan_publish(item(R, current=3), version(2), "rita")
    with pytest.raises(IllegalTransitionError, match="not the version in review"):
        plan_publish(item(R, current=3), version(3, item_id="other"), "rita")


def test_retire_removes_a_live_item_from_the_index_only() -> None:
    live = plan_retire(item(P, current=2, published=2))
    assert (live.status, live.published_version, live.index) == (X, None, IndexEffect.REMOVE)
    assert plan_retire(item(D, published=None)).index is IndexEffect.NONE
    assert plan_retire(item(D, published=1)).index is IndexEffect.REMOVE


def test_rollback_publishes_a_new_version_at_once() -> None:
    plan = plan_rollback(item(X, current=3, published=None), version(1, published=True))
    assert (plan.status, plan.new_version, plan.published_version) == (P, 4, 4)
    assert (plan.index, plan.index_version) == (IndexEffect.UPSERT, 4)


def test_rollback_only_to_a_version_that_was_published() -> None:
    with pytest.raises(IllegalTransitionError, match="version 2 was never published"):
        plan_rollback(item(D, published=1), version(2, published=False))


def test_rollback_to_the_live_version_is_refused_but_discarding_a_draft_is_allowed() -> None:
    with pytest.raises(IllegalTransitionError, match="version 2 is the live version already"):
        plan_rollback(item(P, current=2, published=2), version(2, published=True))
    # published v2 with a draft v3 on top: restoring v2 replaces the draft
    assert plan_rollback(item(D, current=3, published=2), version(2, published=True)).status is P


def test_rollback_refuses_another_items_version() -> None:
    with pytest.raises(IllegalTransitionError, match="belongs to other"):
        plan_rollback(item(P, published=3), version(1, published=True, item_id="other"))


@pytest.mark.parametrize(
    ("effective", "expiry", "on", "applies"),
    [
        (None, None, date(2000, 1, 1), True),
        (date(2020, 9, 19), None, date(2020, 9, 18), False),
        (date(2020, 9, 19), None, date(2020, 9, 19), True),
        (None, date(2024, 1, 1), date(2023, 12, 31), True),
        (None, date(2024, 1, 1), date(2024, 1, 1), False),
        (date(2020, 1, 1), date(2024, 1, 1), date(2022, 6, 1), True),
    ],
)
def test_applies_on(effective: date | None, expiry: date | None, on: date, applies: bool) -> None:
    content = PassageContent(
        kind=ItemKind.CLAUSE, text="x", effective_date=effective, expiry_date=expiry
    )
    assert applies_on(content, on) is applies


def test_kinds_without_dates_apply_on_every_date() -> None:
    assert applies_on(TERM, date(2000, 1, 1))


def test_expiry_must_follow_effective_date() -> None:
    with pytest.raises(ValueError, match="expiry date 2020-01-01 must be after"):
        PassageContent(
            kind=ItemKind.CLAUSE,
            text="x",
            effective_date=date(2020, 1, 1),
            expiry_date=date(2020, 1, 1),
        )


@pytest.mark.parametrize("kind", [ItemKind.CLAUSE, ItemKind.CASE, ItemKind.FAQ])
def test_indexed_kinds_need_text(kind: ItemKind) -> None:
    PassageContent(kind=kind, text="有内容")
    with pytest.raises(ValidationError, match=f"a {kind.value} needs text"):
        PassageContent(kind=kind, title="只有标题", text="  ")


@pytest.mark.parametrize(
    "kind", [ItemKind.SCRIPT, ItemKind.TERM_MAP, ItemKind.COMPLIANCE_RULE, ItemKind.UTTERANCE]
)
def test_other_kinds_need_their_record(kind: ItemKind) -> None:
    with pytest.raises(InvalidItemError, match="Field required"):
        parse_content({"kind": kind.value})


def test_content_is_checked_against_the_items_kind() -> None:
    check_kind(ItemKind.TERM_MAP, TERM)
    check_kind(ItemKind.FAQ, PassageContent(kind=ItemKind.FAQ, text="拨打95500报案。"))
    with pytest.raises(InvalidItemError, match="a script item cannot hold term_map content"):
        check_kind(ItemKind.SCRIPT, TERM)
    with pytest.raises(InvalidItemError, match="a faq item cannot hold clause content"):
        check_kind(ItemKind.FAQ, PassageContent(kind=ItemKind.CLAUSE, text="x"))


@pytest.mark.parametrize("bad", ["", "   ", "a b", "a#1", "x" * 201])
def test_bad_item_ids_are_named(bad: str) -> None:
    with pytest.raises(InvalidItemError, match="invalid item id"):
        check_item_id(bad)


def test_item_ids_are_trimmed() -> None:
    assert check_item_id("  t-1 ") == "t-1"


def test_notes_are_trimmed_and_bounded() -> None:
    assert check_note("  ok  ") == "ok"
    with pytest.raises(InvalidItemError, match="at most 2000"):
        check_note("长" * 2001)


def _parsed(kind: ItemKind, record: str, fields: dict[str, object], **extra: object) -> ItemContent:
    """Content from its JSON form, as a stored version or an export holds it."""
    return parse_content({"kind": kind.value, record: fields, **extra})


def _utterance(text: str, label: str, **extra: object) -> ItemContent:
    return _parsed(
        ItemKind.UTTERANCE, "utterance", {"id": "u", "text": text, "label": label}, **extra
    )


def test_a_labelled_utterance_needs_words_a_known_label_and_a_split() -> None:
    _utterance("你们怎么还不赔", "angry")
    assert _utterance("好的谢谢", "positive", split="dev") == UtteranceContent(
        utterance=LabelledUtterance(id="u", text="好的谢谢", label=Emotion.POSITIVE), split="dev"
    )
    with pytest.raises(InvalidItemError, match="caller's words"):
        _utterance("  ", "angry")
    with pytest.raises(InvalidItemError, match="'furious' is not one of"):
        _utterance("气死了", "furious")
    with pytest.raises(InvalidItemError, match=r"split: .*\(got 'x'\)"):
        _utterance("气死了", "angry", split="x")


SCRIPT = ScriptContent(
    script=SoothingScript(
        id="s",
        title="水淹安抚",
        text="{客户称呼}，先确认人员安全。",
        situation="flood",
        emotion="anxious",
    )
)
TERM = TermContent(term=TermEntry(expression="泡水", synonyms=["涉水", "水淹"]))
RULE = RuleContent(
    rule=ComplianceRule(
        id="r",
        category=RuleCategory.PROMISE,
        severity=Severity.HIGH,
        patterns=["全赔"],
        unless=["不能.{0,4}全赔"],
        reason="不得承诺全额赔付。",
        rewrite="赔付金额需要定损后核定。",
    )
)


def _script(**fields: object) -> ItemContent:
    return _parsed(ItemKind.SCRIPT, "script", SCRIPT.script.model_dump() | fields)


def _term(**fields: object) -> ItemContent:
    return _parsed(ItemKind.TERM_MAP, "term", TERM.term.model_dump() | fields)


def _rule(**fields: object) -> ItemContent:
    return _parsed(ItemKind.COMPLIANCE_RULE, "rule", RULE.rule.model_dump(mode="json") | fields)


def test_a_script_needs_words_a_scene_and_a_known_emotion() -> None:
    assert _script() == SCRIPT
    assert _script(emotion="any").script.emotion == "any"  # type: ignore[union-attr]
    with pytest.raises(InvalidItemError, match="words the agent says"):
        _script(text=" ")
    with pytest.raises(InvalidItemError, match="needs a scene"):
        _script(situation=" ")
    with pytest.raises(InvalidItemError, match=r"emotion 'furious' is not one of: .*any"):
        _script(emotion="furious")


def test_a_typo_in_a_field_name_is_named() -> None:
    with pytest.raises(InvalidItemError, match="a script has no field 'emtion'; its fields are"):
        _script(emtion="angry")
    with pytest.raises(InvalidItemError, match=r"no field 'pattern'.*patterns, unless"):
        _rule(pattern=["x"])
    with pytest.raises(InvalidItemError, match="Extra inputs are not permitted"):
        parse_content(SCRIPT.model_dump() | {"scene": "flood"})


def test_a_term_needs_one_expression_and_synonyms() -> None:
    assert _term() == TERM
    assert _term(synonyms=["涉水", " 水淹", "暴雨", "涉水"]).term.synonyms == [  # type: ignore[union-attr]
        "涉水",
        "水淹",
        "暴雨",
    ]
    with pytest.raises(InvalidItemError, match="colloquial expression"):
        _term(expression="")
    with pytest.raises(InvalidItemError, match="without spaces"):
        _term(expression="泡 水")
    with pytest.raises(InvalidItemError, match="synonym '涉水 水淹' must be one term"):
        _term(synonyms=["涉水 水淹"])
    with pytest.raises(InvalidItemError, match="the term '泡水' needs synonyms"):
        _term(synonyms=[" "])


def test_a_compliance_rule_needs_reason_category_severity_rewrite_and_patterns() -> None:
    assert _rule() == RULE
    cases: list[tuple[dict[str, object], str]] = [
        ({"reason": " "}, "needs its reason"),
        ({"category": "rude"}, r"rule.category: .*\(got 'rude'\)"),
        ({"severity": "low"}, r"rule.severity: .*\(got 'low'\)"),
        ({"rewrite": " "}, "needs a rewrite"),
        ({"patterns": []}, "rule.patterns: List should have at least 1 item"),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidItemError, match=message):
            _rule(**fields)


@pytest.mark.parametrize(
    ("field", "pattern", "message"),
    [
        ("patterns", "全额(赔付", "bad regular expression '全额\\(赔付'"),
        ("unless", "[不能", "bad regular expression '\\[不能'"),
        (
            "patterns",
            "(全赔)?",
            "pattern '\\(全赔\\)\\?' matches empty text, so it would flag every",
        ),
        ("unless", ".*", "unless '\\.\\*' matches empty text, so it would silence the rule"),
    ],
)
def test_rule_patterns_must_compile_and_match_something(
    field: str, pattern: str, message: str
) -> None:
    with pytest.raises(InvalidItemError, match=message):
        _rule(**{field: [*getattr(RULE.rule, field), pattern]})
