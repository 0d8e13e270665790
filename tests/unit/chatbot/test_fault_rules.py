"""辅助定责: the shipped fault rules, the scenarios, the roles and the not-simple cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.flows.fault import AnswerValue, FaultRules, FaultRulesFile
from core.errors import ConfigurationError
from core.settings import PROJECT_ROOT

RULES = FaultRules.load(PROJECT_ROOT / "data" / "chatbot" / "fault_rules.yaml")
SIMPLE: dict[str, AnswerValue] = {
    "vehicles": "two",
    "injuries": False,
    "drunk": False,
    "insured": True,
    "public_property": False,
    "dispute": False,
}


@pytest.mark.parametrize(
    ("description", "scenario"),
    [
        ("等红灯的时候被后面的车追尾了", "rear_end"),
        ("我没刹住撞了前车", "rear_end"),
        ("旁边的车突然变道别了我一下", "lane_change"),
        ("对方加塞蹭到我车头", "lane_change"),
        ("停车场倒车的时候碰到了别人的车", "reversing"),
        ("坡上溜车撞了后面的车", "reversing"),
        ("我开车门的时候被电动车后面的车刮了", "door_opening"),
        ("路口左转的车没让我直行的车", "failing_to_yield"),
        ("对方掉头撞上我", "failing_to_yield"),
        ("对面的车逆行过来", "wrong_way"),
        ("他闯红灯撞了我的车", "red_light"),
        ("我的车停在路边被一辆车蹭了", "parked_car"),
    ],
)
def test_scenarios_are_recognised(description: str, scenario: str) -> None:
    found = RULES.scenario(description)
    assert found is not None and found.id == scenario


def test_an_unknown_story_has_no_scenario() -> None:
    assert RULES.scenario("车坏了不知道怎么回事") is None


@pytest.mark.parametrize(
    ("scenario", "role", "responsible"),
    [
        ("rear_end", "rear", "customer"),
        ("rear_end", "front", "other_party"),
        ("lane_change", "changer", "customer"),
        ("lane_change", "straight", "other_party"),
        ("reversing", "mover", "customer"),
        ("reversing", "other", "other_party"),
        ("door_opening", "door", "customer"),
        ("door_opening", "passing", "other_party"),
        ("failing_to_yield", "yielder", "customer"),
        ("failing_to_yield", "priority", "other_party"),
        ("wrong_way", "wrong_way", "customer"),
        ("red_light", "runner", "customer"),
        ("red_light", "other", "other_party"),
        ("parked_car", "moving", "customer"),
        ("parked_car", "parked", "other_party"),
    ],
)
def test_the_rule_decides_who_is_responsible(scenario: str, role: str, responsible: str) -> None:
    judgement = RULES.judge_fault({**SIMPLE, "scenario": scenario, "role": role})
    assert judgement.simple
    assert judgement.responsible == responsible
    assert judgement.scenario == scenario
    assert judgement.rule  # the rule is cited in words


@pytest.mark.parametrize(
    ("answer", "value", "words"),
    [
        ("vehicles", "multi", "三辆"),
        ("vehicles", "single", "单车"),
        ("injuries", True, "受伤"),
        ("drunk", True, "酒后"),
        ("insured", False, "交强险"),
        ("public_property", True, "公共设施"),
        ("dispute", True, "争议"),
    ],
)
def test_not_simple_cases_say_why(answer: str, value: AnswerValue, words: str) -> None:
    answers = {**SIMPLE, answer: value, "scenario": "rear_end", "role": "rear"}
    judgement = RULES.judge_fault(answers)
    assert not judgement.simple
    assert judgement.reason is not None and words in judgement.reason
    assert judgement.responsible is None


def test_a_case_with_no_scenario_or_role_is_not_simple() -> None:
    assert not RULES.judge_fault({**SIMPLE}).simple
    assert not RULES.judge_fault({**SIMPLE, "scenario": "rear_end", "role": "driver"}).simple
    assert not RULES.judge_fault({**SIMPLE, "scenario": "meteor", "role": "rear"}).simple


def test_not_simple_reads_partial_answers() -> None:
    assert RULES.not_simple({"vehicles": "two"}) is None
    assert RULES.not_simple({"vehicles": "two", "insured": False}) is not None


@pytest.mark.parametrize(
    ("answer", "role"),
    [
        ("我是后车", "rear"),
        ("我是前车", "front"),
        ("被追尾的是我，我被撞", "front"),
        ("1", "rear"),
        ("2", "front"),
    ],
)
def test_roles_from_words_or_numbers(answer: str, role: str) -> None:
    scenario = RULES.by_id("rear_end")
    assert scenario is not None
    assert RULES.role(scenario, answer) == role


def test_a_rule_file_naming_an_unknown_at_fault_role_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "fault.yaml"
    bad.write_text(
        "not_simple: [{answer: dispute, equals: true, reason: 有争议}]\n"
        "scenarios:\n"
        "  - {id: x, name: X, patterns: [x], at_fault: nobody, rule: r,\n"
        "     roles: [{key: a, label: A}, {key: b, label: B}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match="at_fault"):
        FaultRules.load(bad)


def test_the_shipped_file_validates() -> None:
    spec = RULES.spec
    assert isinstance(spec, FaultRulesFile)
    assert len(spec.scenarios) >= 7


@pytest.mark.parametrize(
    ("answer", "role"),
    [("我在路口直行他左转撞我", "priority"), ("我左转的时候对方直行过来", "yielder")],
)
def test_failing_to_yield_sides(answer: str, role: str) -> None:
    scenario = RULES.by_id("failing_to_yield")
    assert scenario is not None
    assert RULES.role(scenario, answer) == role
