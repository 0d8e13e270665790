"""The wrap-up fact rules: who a rule listens to, unless, requires, replaces, generic, labels
filled from named groups, the cap, and a rule file refused with the bad rule named (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assist.facts import MAX_FACTS, FactBook, FactFile, agent_findings
from assist.models import AgentAssist, Disposition, Need
from conversation.models import Speaker, Turn
from core.errors import ConfigurationError
from prompts.guard import ComplianceGuard, ComplianceRule, RuleCategory, Severity
from sentiment.mood import CallMood

ANY_RULE = {"id": "unused", "label": "未用", "patterns": ["(?!)"]}


def _book(**sections: list[dict[str, Any]]) -> FactBook:
    spec: dict[str, list[dict[str, Any]]] = {
        name: [{**ANY_RULE, "id": f"unused-{name.replace('_', '-')}"}]
        for name in ("events", "requests", "commitments", "next_steps")
    }
    spec.update(sections)
    return FactBook(FactFile.model_validate(spec))


def _said(*lines: str) -> list[Turn]:
    """Turns from 'C:' (caller) and 'A:' (agent) lines."""
    speakers = {"C": Speaker.CUSTOMER, "A": Speaker.AGENT}
    return [Turn(speaker=speakers[line[0]], text=line[2:]) for line in lines]


def test_a_rule_fires_once_on_the_first_turn_of_its_speakers() -> None:
    book = _book(
        events=[{"id": "theft", "label": "车辆被盗", "patterns": ["被偷"]}],
        commitments=[{"id": "report", "label": "已登记报案", "patterns": ["登记报案"]}],
    )
    facts = book.extract(
        _said("A:车被偷了要先报警", "C:我的车被偷了", "C:真的被偷了", "C:帮我登记报案")
    )
    assert [(f.label, f.turn, f.speaker) for f in facts.events] == [
        ("车辆被盗", 1, Speaker.CUSTOMER)
    ]
    assert facts.events[0].words == "被偷"
    assert facts.commitments == []  # only the caller asked; the agent did not register anything


def test_unless_cancels_in_its_sentence_only() -> None:
    book = _book(
        events=[{"id": "scrape", "label": "剐蹭", "patterns": ["刮了"], "unless": ["如果"]}]
    )
    assert book.extract(_said("C:如果我刮了一下，要报案吗")).events == []
    facts = book.extract(_said("C:如果我刮了一下怎么办？昨天真刮了"))
    assert [f.label for f in facts.events] == ["剐蹭"]


def test_requires_looks_anywhere_in_the_call_and_replaces_drops_the_general_fact() -> None:
    book = _book(
        events=[
            {
                "id": "ride-hailing-rear-end",
                "label": "网约车载客途中追尾",
                "patterns": ["追尾"],
                "requires": ["网约车"],
                "replaces": ["rear-end"],
            },
            {"id": "rear-end", "label": "追尾事故", "patterns": ["追尾"]},
        ]
    )
    plain = book.extract(_said("C:上个月追尾了"))
    assert [f.label for f in plain.events] == ["追尾事故"]
    hailing = book.extract(_said("C:上个月追尾了", "A:当时车辆正在网约车平台接单"))
    assert [f.label for f in hailing.events] == ["网约车载客途中追尾"]


def test_a_generic_rule_stands_only_alone() -> None:
    book = _book(
        events=[
            {"id": "collision", "label": "交通事故", "patterns": ["撞了"], "generic": True},
            {"id": "hail", "label": "冰雹砸伤车辆", "patterns": ["冰雹"]},
        ]
    )
    assert [f.label for f in book.extract(_said("C:车撞了")).events] == ["交通事故"]
    both = book.extract(_said("C:车撞了", "C:还下了冰雹"))
    assert [f.label for f in both.events] == ["冰雹砸伤车辆"]


def test_labels_are_filled_from_named_groups_and_facts_keep_call_order() -> None:
    book = _book(
        commitments=[
            {
                "id": "callback",
                "label": "承诺{when}内回电",
                "patterns": ["(?P<when>[一二三四五六七八九十]+个工作日)内.{0,6}回电"],
                "disposition": "需回访",
            },
            {"id": "review", "label": "已登记复核", "patterns": ["登记了复核"]},
        ]
    )
    facts = book.extract(_said("A:我已经登记了复核", "A:三个工作日内会有专人回电"))
    assert [f.label for f in facts.commitments] == ["已登记复核", "承诺三个工作日内回电"]
    assert facts.commitments[1].disposition is Disposition.CALLBACK


def test_the_cap_keeps_the_commitments_that_imply_a_disposition() -> None:
    limit = MAX_FACTS["commitments"]
    explained = [
        {"id": f"explained-{n}", "label": f"已说明{n}", "patterns": [f"说明{n}"]}
        for n in range(limit + 2)
    ]
    complaint = {
        "id": "complaint",
        "label": "已登记投诉",
        "patterns": ["投诉已登记"],
        "disposition": "已登记投诉",
    }
    book = _book(commitments=[*explained, complaint])
    turns = _said(*(f"A:说明{n}" for n in range(limit + 2)), "A:投诉已登记")
    labels = [f.label for f in book.extract(turns).commitments]
    assert len(labels) == limit and labels[-1] == "已登记投诉"
    assert labels[:-1] == [f"已说明{n}" for n in range(limit - 1)]


def test_findings_are_the_guards_on_agent_turns_once_per_rule_and_words() -> None:
    guard = ComplianceGuard.from_rules(
        [
            ComplianceRule(
                id="promise-full-payout",
                category=RuleCategory.PROMISE,
                severity=Severity.HIGH,
                patterns=["全赔"],
                reason="不得向客户承诺全额赔付。赔多少取决于核定结果。",
                rewrite="以核定为准。",
            )
        ]
    )

    def view(turn: int, speaker: Speaker, text: str) -> AgentAssist:
        return AgentAssist(
            turn=turn,
            speaker=speaker,
            mood=CallMood(),
            intent=Need(),
            compliance=guard.check(text) if speaker is not Speaker.CUSTOMER else None,
        )

    history = [
        view(0, Speaker.CUSTOMER, "能全赔吗"),
        view(1, Speaker.AGENT, "您放心，肯定全赔。"),
        view(2, Speaker.AGENT, "我再说一次，全赔。"),
        view(3, Speaker.BOT, "全赔"),
    ]
    (finding,) = agent_findings(history)
    assert (finding.turn, finding.rule, finding.words) == (1, "promise-full-payout", "全赔")
    assert finding.reason == "不得向客户承诺全额赔付"


@pytest.mark.parametrize(
    ("rule", "section", "problem"),
    [
        ({"label": "承诺{when}内回电", "patterns": ["回电"]}, "events", r"\{when\}"),
        ({"replaces": ["nowhere"]}, "events", "replaces 'nowhere'"),
        ({"disposition": "已报案"}, "events", "only commitments"),
        ({"patterns": ["("]}, "events", "bad regular expression"),
        ({"id": "Not Kebab"}, "requests", "should match pattern"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(rule: dict[str, Any], section: str, problem: str) -> None:
    spec = {
        name: [{**ANY_RULE, "id": f"r-{name.replace('_', '-')}"}]
        for name in ("events", "requests", "commitments", "next_steps")
    }
    spec[section] = [{"id": "bad-rule", "label": "事实", "patterns": ["x"], **rule}]
    with pytest.raises(ValidationError, match=problem):
        FactFile.model_validate(spec)


def test_an_unreadable_rule_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wrapup.yaml"
    path.write_text("events: [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"wrapup\.yaml: not valid YAML"):
        FactBook.load(path)


def test_duplicate_ids_across_sections_are_refused() -> None:
    rule = {**ANY_RULE, "id": "same"}
    with pytest.raises(ValidationError, match="duplicate rule ids: same"):
        FactFile.model_validate(
            {"events": [rule], "requests": [rule], "commitments": [rule], "next_steps": [rule]}
        )
