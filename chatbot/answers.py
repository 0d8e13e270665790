"""The bot's words: trainer-editable templates and the pure functions that fill them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from core.files import read_yaml
from core.models import Hit
from core.templates import fill_placeholders, gist


class ReminderReply(BaseModel):
    """How the bot answers a reply to one kind of 车主秘书 reminder."""

    words: list[str] = Field(min_length=1, description="what marks a message as about it")
    reply: str = Field(min_length=1)
    identity: bool = Field(
        default=False, description="the reply asks for the identity check (to show the policy)"
    )


class AnswerBook(BaseModel):
    """``data/chatbot/answers.yaml``."""

    greeting: str
    knowledge: str
    knowledge_more: str
    no_answer: str
    report_claim: str
    value_added: str
    to_human_info: str
    complaint_channel: str
    identity_prompt: str
    identity_failed: str
    claim_status: str
    claim_none: str
    claim_materials_status: str = Field(
        default="{客户称呼}，您的案件{案件号}目前处于“{案件阶段}”环节。{进度说明}",
        description="an own claim's stage, for 'which of my materials are missing'",
    )
    policy_status: str
    injection: str
    thanks: str
    survey_csat: str = Field(
        default="请问您对本次服务满意吗？请回复 1-5 的数字（5 分为非常满意）。",
        description="asked after a resolved conversation (the customer said thanks)",
    )
    survey_nps: str = Field(
        default="谢谢！您有多大可能把我们推荐给亲友？请回复 0-10 的数字（10 分为非常愿意）。",
        description="the survey's second question",
    )
    privilege_refused: str = Field(
        default="抱歉，{原因}，这次没能为您预约。如需自费安排，请说“转人工”。",
        description="a privilege booking the tier or this year's quota does not allow",
    )
    reminder_replies: dict[str, ReminderReply] = Field(
        default_factory=dict, description="replies to a reminder, by the reminder's kind"
    )
    survey_thanks: str = Field(
        default="感谢您的评价，祝您用车愉快！", description="after the survey's last answer"
    )
    safety: str
    handoff: str
    handoff_waiting: str
    foreign_language: str = Field(
        default=" This service answers in Chinese; we are connecting you to a person.",
        description="added to the handoff reply for a message not in Chinese",
    )
    handoff_accepted: str = Field(
        default="人工客服已接入，会在这里回复您，请稍候。",
        description="what the customer reads after writing to an agent who has taken over",
    )
    stages: dict[str, str] = Field(default_factory=dict)
    agent_openers: dict[str, str] = Field(default_factory=dict)

    def opener(self, reasons: Sequence[str]) -> str:
        """The agent's suggested first reply for the first reason that has one."""
        for reason in reasons:
            if reason in self.agent_openers:
                return self.agent_openers[reason]
        return self.agent_openers.get("default", "您好，我是人工客服，我来继续为您处理。")

    def reminder_reply(self, kinds: list[str], text: str) -> tuple[str, ReminderReply] | None:
        """The reply for a message answering a reminder of these kinds, when its words are about
        one of them (the first kind whose words it uses)."""
        for kind in kinds:
            reply = self.reminder_replies.get(kind)
            if reply is not None and any(word in text for word in reply.words):
                return kind, reply
        return None

    @classmethod
    def load(cls, path: Path) -> AnswerBook:
        """Read and validate the answer templates.

        Raises:
            ConfigurationError: missing file, bad YAML or a missing template, naming the file.
        """
        return read_yaml(path, cls)


def grounded(
    template: str, hits: Sequence[Hit], values: Mapping[str, str]
) -> tuple[str, list[str]]:
    """An extractive answer: the gist of the best passage and the citations it rests on.

    Args:
        template: a template with {要点} and {依据}.
        hits: retrieved clauses / FAQ answers, best first (at least one).
        values: other placeholder values.

    Returns:
        The answer text and its citations (the top two passages).
    """
    cited = list(hits[:2])
    citations = [h.citation for h in cited]
    text = fill_placeholders(
        template, {**values, "要点": gist(cited[0], limit=120), "依据": "、".join(citations)}
    )
    return text, citations
