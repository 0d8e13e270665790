"""The self-service contact: recorded after each answer (containment, handoffs), and the survey the
bot asks after the customer's thanks, on the demo knowledge base and the real models."""

from __future__ import annotations

import pytest

from quality.models import ContactKind
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """A private database: the handoffs these chats leave waiting stay out of other tests'
    inboxes."""
    settings = with_private_database(demo_services.settings, tmp_path_factory.mktemp("survey"))
    return Services(settings, embedder=demo_services.embedder)


def test_a_resolved_chat_asks_the_survey_and_its_answers_reach_the_contact(
    services: Services,
) -> None:
    bot = services.chatbot()
    conversation = bot.start("wechat")
    first = bot.post(conversation.id, "车上的玻璃单独碎了，车损险赔吗")
    assert first.route == "bot"
    recorded = services.quality.find(conversation.id)
    assert recorded is not None and recorded.kind is ContactKind.BOT
    assert recorded.matter == "clause_query" and not recorded.handoff and recorded.resolved

    thanks = bot.post(conversation.id, "好的，谢谢")
    assert "1-5" in thanks.answer
    assert "0-10" in bot.post(conversation.id, "5分").answer
    assert "感谢您的评价" in bot.post(conversation.id, "９").answer  # full-width digits too
    surveyed = services.quality.find(conversation.id)
    assert surveyed is not None and (surveyed.survey.csat, surveyed.survey.nps) == (5, 9)
    assert surveyed.qa is not None  # scored on the items that apply to the bot

    # thanks again: asked once per conversation
    assert "1-5" not in bot.post(conversation.id, "谢谢").answer


def test_a_message_that_is_not_a_score_drops_the_survey_and_is_answered(
    services: Services,
) -> None:
    bot = services.chatbot()
    conversation = bot.start("web")
    bot.post(conversation.id, "划痕险能单独买吗")
    assert "1-5" in bot.post(conversation.id, "谢谢").answer
    answer = bot.post(conversation.id, "那代驾服务怎么约")
    assert answer.intent == "value_added" and "0-10" not in answer.answer
    recorded = services.quality.find(conversation.id)
    assert recorded is not None and recorded.survey.csat is None


def test_a_handed_over_chat_counts_against_containment_with_its_reason(
    services: Services,
) -> None:
    bot = services.chatbot()
    conversation = bot.start("web")
    answer = bot.post(conversation.id, "我要投诉你们的定损员，太过分了！")
    assert answer.route == "human" and answer.handoff_id
    recorded = services.quality.find(conversation.id)
    assert recorded is not None and recorded.handoff and not recorded.resolved
    assert recorded.handoff_reason and recorded.complaint
    bot.post(conversation.id, "还要等多久")  # with a person now: the record keeps the handoff
    again = services.quality.find(conversation.id)
    assert again is not None and again.handoff and again.handoff_reason == recorded.handoff_reason
