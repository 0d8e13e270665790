"""The agent's desk and the supervisor's floor on real content: red lines stop on every channel,
taking a handoff never loses the contact in progress, every contact can be wrapped up, and the
floor's actions reach the agent and the audit log."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from accounts.passwords import PasswordHashing
from accounts.permissions import PermissionDeniedError
from audit.log import AuditFilter
from calls.desk import ContactError
from calls.models import Channel, NewCall, NewSegment
from chatbot.replies import ReplyNotCompliantError
from conversation.models import Speaker
from customers.demo import generate
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration

RED_LINE = "您放心，这个肯定全赔。"
FINE = "您好，我先帮您查一下保单，请稍等。"


@pytest.fixture(scope="module")
def services(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    settings = with_private_database(demo_services.settings, tmp_path_factory.mktemp("desk"))
    services = Services(
        settings, embedder=demo_services.embedder, passwords=PasswordHashing.fast_for_tests()
    )
    if not services.customers.count():
        services.customers.load_records(generate(20))
    for name, role in (("d041", Role.AGENT), ("d042", Role.AGENT), ("d049", Role.SUPERVISOR)):
        if name not in {u.username for u in services.accounts.list()}:
            services.accounts.add(name, "Desk-Agent-2026", [role.value])
    return services


def _user(services: Services, name: str) -> User:
    return services.accounts.get(name)


def _handoff(services: Services, text: str) -> str:
    """A chat the bot handed over, with the conversation behind it."""
    chatbot = services.chatbot()
    answer = chatbot.post(chatbot.start().id, text)
    if answer.handoff_id is None:
        pytest.fail(f"the bot did not hand over {text!r}")
    return answer.handoff_id


def test_a_red_line_stops_on_the_phone_the_console_and_the_chat(services: Services) -> None:
    agent = _user(services, "d041")
    desk = services.desk()
    phone = services.calls.start(NewCall(caller_number="19900001111", agent="d041"))
    console = desk.open_console_call(agent, None)
    chat = desk.take_handoff(agent, _handoff(services, "帮我转人工，理赔一直没人联系"))
    assert chat.channel is Channel.CHAT
    before = {c: len(services.calls.get(c).segments) for c in (phone.call_id, console.id, chat.id)}
    sent_before = len(services.chatbot().conversation(_session(services, chat.id)).turns)

    for call_id in before:
        with pytest.raises(ReplyNotCompliantError) as refused:
            desk.reply(agent, call_id, RED_LINE)
        assert "全额赔付" in str(refused.value) and "promise-full-payout" not in str(refused.value)
    assert {c: len(services.calls.get(c).segments) for c in before} == before  # nothing recorded
    after = services.chatbot().conversation(_session(services, chat.id)).turns
    assert len(after) == sent_before  # nothing reached the customer

    report = desk.check(RED_LINE)
    assert not report.compliant and "全赔" not in desk.reword(RED_LINE)
    assert desk.check(desk.reword(RED_LINE)).compliant
    desk.reply(agent, chat.id, FINE)
    assert services.chatbot().conversation(_session(services, chat.id)).turns[-1].text == FINE


def _session(services: Services, call_id: str) -> str:
    handoff_id = services.calls.get(call_id).handoff_id
    assert handoff_id is not None
    return services.handoffs.get(handoff_id).session_id


def test_taking_a_handoff_during_a_call_keeps_the_call(services: Services) -> None:
    agent = _user(services, "d042")
    desk = services.desk()
    call = services.calls.start(NewCall(caller_number="19900002222", agent="d042"))
    services.calls.add_segment(
        call.call_id, NewSegment(seq=0, speaker=Speaker.CUSTOMER, text="我想问下保单", final=True)
    )
    chat = desk.take_handoff(agent, _handoff(services, "我要投诉你们的理赔员，转人工"))
    open_now = {c.id for c in services.calls.calls_of("d042")}
    assert {call.call_id, chat.id} <= open_now
    assert len(services.calls.get(call.call_id).segments) == 1  # the call is untouched
    again = desk.take_handoff(agent, chat.handoff_id or "")  # reopening gives the same contact
    assert again.id == chat.id
    with pytest.raises(Exception, match="d042"):
        desk.take_handoff(_user(services, "d041"), chat.handoff_id or "")  # held by d042


def test_an_anonymous_chat_is_linked_to_its_customer_and_then_saved(services: Services) -> None:
    agent = _user(services, "d041")
    desk = services.desk()
    chat = desk.take_handoff(agent, _handoff(services, "转人工，我的理赔进度怎么查"))
    assert chat.customer_id is None
    with pytest.raises(ContactError, match="identify the customer"):
        desk.save_wrap_up(agent, chat.id, "客户询问理赔进度，已告知。", "已解答")
    with pytest.raises(Exception, match="belongs to d041"):
        services.calls.link_customer(_user(services, "d042"), chat.id, "C00002")  # not theirs
    services.calls.link_customer(agent, chat.id, "C00002")
    before = len(services.customers.profile("C00002").interactions)
    saved = desk.save_wrap_up(agent, chat.id, "客户询问理赔进度，已告知。", "已解答")
    assert saved.info.saved
    assert len(services.customers.profile("C00002").interactions) == before + 1
    ended = desk.finish(agent, chat.id, "已告知理赔进度")
    assert ended.id not in {c.id for c in services.calls.calls_of("d041")}
    assert services.handoffs.get(chat.handoff_id or "").state.value == "resolved"


def test_the_floor_sorts_by_risk_and_its_notes_reach_the_agent_audited(
    services: Services,
) -> None:
    supervisor, agent = _user(services, "d049"), _user(services, "d041")
    with pytest.raises(PermissionDeniedError):
        services.calls.floor(agent)
    calm = services.calls.start(NewCall(caller_number="19900003333", agent="d041"))
    services.calls.add_segment(
        calm.call_id,
        NewSegment(seq=0, speaker=Speaker.CUSTOMER, text="你好，我想问下保单", final=True),
    )
    angry = services.calls.start(NewCall(caller_number="19900004444", agent="d042"))
    services.calls.add_segment(
        angry.call_id,
        NewSegment(
            seq=0,
            speaker=Speaker.CUSTOMER,
            text="凭什么不赔？你们就是骗子！我要去银保监会投诉你们！",
            final=True,
        ),
    )
    floor = [c.id for c in services.calls.floor(supervisor)]
    assert floor.index(angry.call_id) < floor.index(calm.call_id)

    services.calls.watch(supervisor, calm.call_id)
    services.calls.whisper(supervisor, calm.call_id, "先安抚，再说明时效")
    services.calls.flag(supervisor, calm.call_id)
    seen = services.calls.get(calm.call_id).info
    assert [w.text for w in seen.whispers] == ["先安抚，再说明时效"] and seen.flagged_by == "d049"
    actions = {
        e.action for e in services.audit.entries(AuditFilter(actor="d049", target=calm.call_id))
    }
    assert {"call.watch", "call.whisper", "call.flag_takeover"} <= actions
    with pytest.raises(PermissionDeniedError):
        services.calls.whisper(agent, calm.call_id, "我自己给自己提示")


def test_turns_are_typed_only_on_a_console_call(services: Services) -> None:
    agent = _user(services, "d041")
    phone = services.calls.start(NewCall(caller_number="19900005555", agent="d041"))
    with pytest.raises(ContactError, match="console"):
        services.desk().say(agent, phone.call_id, Speaker.CUSTOMER, "你好")
    console = services.desk().open_console_call(agent, None)
    with pytest.raises(ContactError, match="belongs to d041"):
        services.desk().say(_user(services, "d042"), console.id, Speaker.CUSTOMER, "你好")


def test_the_agent_corrects_the_topic_and_later_turns_follow_it(services: Services) -> None:
    from calls.models import TopicFix
    from core.errors import PolicyDeskError
    from retrieval.topics import Facet

    agent = _user(services, "d041")
    desk = services.desk()
    call = desk.open_console_call(agent, None)
    desk.say(agent, call.id, Speaker.CUSTOMER, "我的车在小区门口被人偷了")
    first = desk.correct_topic(agent, call.id, TopicFix(facet=Facet.EVENT, name="flood"))
    view = first.latest
    assert view is not None and view.topic.names(Facet.EVENT) == ["flood"]
    assert Facet.EVENT in view.topic.locked
    assert "水淹/涉水" in {h.answers.split(" · ")[0] for h in view.hits + view.cases}
    later = desk.say(agent, call.id, Speaker.CUSTOMER, "那这个多久能赔下来")
    assert later.latest is not None
    assert later.latest.topic.names(Facet.EVENT) == ["flood"]  # the correction holds
    with pytest.raises(PolicyDeskError, match="not a value"):
        desk.correct_topic(agent, call.id, TopicFix(facet=Facet.EVENT, name="meteor"))
    with pytest.raises(ContactError, match="belongs to d041"):
        desk.correct_topic(
            _user(services, "d042"), call.id, TopicFix(facet=Facet.EVENT, name="theft")
        )
