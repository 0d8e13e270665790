"""LLM phrasing with langchain's fake chat model: grounded, guarded, falling back to templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage

from core.errors import ConfigurationError
from core.settings import PROJECT_ROOT
from prompts.guard import ComplianceGuard
from prompts.llm import LlmPhraser, build_chat_model, ungrounded_numbers

PROMPTS = PROJECT_ROOT / "prompts" / "llm_prompts.yaml"
DRAFT = "王先生，您问的情况，条款约定发动机进水后继续启动导致的损坏不赔（示范条款第九条）。"
PASSAGES = [
    "示范条款第九条：被保险机动车涉水后，驾驶人仍强行启动发动机导致发动机损坏的，不负责赔偿。"
]


@pytest.fixture(scope="module")
def guard() -> ComplianceGuard:
    return ComplianceGuard.load(PROJECT_ROOT / "prompts" / "compliance_rules.yaml")


def _phraser(guard: ComplianceGuard, *answers: str) -> LlmPhraser:
    return LlmPhraser.load(FakeListChatModel(responses=list(answers)), guard, PROMPTS)


def test_grounded_answer_is_used(guard: ComplianceGuard) -> None:
    answer = "王先生，按示范条款第九条，车辆涉水后再强行启动造成的发动机损坏不在赔偿范围内。"
    phrased = _phraser(guard, answer).phrase_reply("泡水车能赔吗", DRAFT, PASSAGES)
    assert phrased.source == "llm" and phrased.text == answer and not phrased.note


def test_numbers_not_in_the_sources_keep_the_template(guard: ComplianceGuard) -> None:
    phrased = _phraser(guard, "王先生，这种情况3天内赔您8000元。").phrase_reply(
        "泡水车能赔吗", DRAFT, PASSAGES
    )
    assert phrased.source == "template" and phrased.text == DRAFT
    assert "8000" in phrased.note


def test_llm_red_lines_are_rewritten_by_the_guard(guard: ComplianceGuard) -> None:
    phrased = _phraser(guard, "您放心，这个肯定全赔。").phrase_reply("能赔吗", DRAFT, PASSAGES)
    assert phrased.source == "llm" and phrased.rewritten
    assert "全赔" not in phrased.text and guard.check(phrased.text).compliant


def test_empty_or_overlong_answers_keep_the_template(guard: ComplianceGuard) -> None:
    assert _phraser(guard, "  ").phrase_reply("能赔吗", DRAFT, PASSAGES).text == DRAFT
    long = _phraser(guard, "条款" * 400).phrase_reply("能赔吗", DRAFT, PASSAGES)
    assert long.source == "template" and "too long" in long.note


class _Down(FakeListChatModel):
    def invoke(self, input: object, *args: object, **kwargs: object) -> BaseMessage:  # type: ignore[override]
        raise ConnectionError("endpoint unreachable")


def test_an_unreachable_endpoint_keeps_the_template(guard: ComplianceGuard) -> None:
    phraser = LlmPhraser.load(_Down(responses=["x"]), guard, PROMPTS)
    phrased = phraser.phrase_reply("能赔吗", DRAFT, PASSAGES)
    assert phrased.source == "template" and phrased.text == DRAFT
    assert "unreachable" in phrased.note
    summary = phraser.summarize("客户：你好", "要点", fallback="模板小结")
    assert summary.text == "模板小结" and summary.source == "template"


def test_summary_from_the_llm_is_guarded(guard: ComplianceGuard) -> None:
    phrased = _phraser(guard, "客户咨询泡水车理赔，已告知条款约定，客户情绪平稳。").summarize(
        "客户：泡水车能赔吗", "客户诉求：条款咨询", fallback="模板"
    )
    assert phrased.source == "llm" and "泡水车" in phrased.text


def test_prompt_file_with_unknown_placeholder_is_a_configuration_error(
    tmp_path: Path, guard: ComplianceGuard
) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "reply: {system: s, user: '{nope}'}\nsummary: {system: s, user: u}\n", encoding="utf-8"
    )
    phraser = LlmPhraser.load(FakeListChatModel(responses=["x"]), guard, bad)
    with pytest.raises(ConfigurationError, match="nope"):
        phraser.phrase_reply("q", "d", [])
    missing = tmp_path / "none.yaml"
    with pytest.raises(ConfigurationError, match=r"none\.yaml"):
        LlmPhraser.load(FakeListChatModel(responses=["x"]), guard, missing)


def test_ungrounded_numbers_and_no_endpoint_means_no_model() -> None:
    assert ungrounded_numbers("限额20万，48小时内", ["限额20万元"]) == ["48"]
    assert ungrounded_numbers("第九条", ["第九条"]) == []
    assert build_chat_model(None, "m", None, 5) is None
    with pytest.raises(ConfigurationError, match="LLM_MODEL"):
        build_chat_model("http://localhost:9/v1", " ", None, 5)
    model = build_chat_model("http://localhost:9/v1", "qwen", None, 5)
    assert model is not None  # built without contacting the endpoint
