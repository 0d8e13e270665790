"""The guided self-service flows (微理赔) through the chatbot, on the demo knowledge base and the
real models: identity first, one question at a time, files sent with messages, corrections,
leaving and resuming, handoffs with what was gathered, and the real records they end in."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from chatbot.flows import FlowStatus
from chatbot.service import ChatbotService
from core.errors import InvalidQueryError
from customers.demo import generate
from customers.models import CustomerProfile, RevealableField, WithdrawalState
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def services(demo_services: Services, tmp_path_factory: pytest.TempPathFactory) -> Services:
    """A private database: the claims, handoffs and files these chats make stay here."""
    settings = with_private_database(demo_services.settings, tmp_path_factory.mktemp("flows"))
    services = Services(settings, embedder=demo_services.embedder)
    if not services.customers.count():
        services.customers.load_records(generate(40))
    return services


@pytest.fixture(scope="module")
def bot(services: Services) -> ChatbotService:
    return services.chatbot()


def _insured(services: Services) -> tuple[CustomerProfile, str]:
    """A demo customer with one vehicle insured today and a claim, and their identity message."""
    today = date.today()
    for summary in services.customers.list(200):
        profile = services.customers.profile(summary.id)
        policies = [p for p in profile.policies if p.start <= today <= p.end]
        if policies and profile.claims and len(profile.vehicles) == 1:
            phone = services.customers.identifier(profile.id, RevealableField.PHONE)
            return profile, f"{policies[0].policy_no} {phone[-4:]}"
    raise AssertionError("the demo data has no insured customer with a claim")


def _photo(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _report_until_photos(bot: ChatbotService, conversation: str, identity: str) -> None:
    assert bot.post(conversation, "你好，我要报案").needs_identity
    assert "什么时候" in bot.post(conversation, identity).answer
    bot.post(conversation, "昨天下午三点")
    bot.post(conversation, "在中山路和解放路路口")
    bot.post(conversation, "等红灯的时候被后面的车追尾了，后保险杠凹进去了")
    bot.post(conversation, "没有人受伤")
    assert "照片" in bot.post(conversation, "对方车牌苏A12345").answer


def test_a_customer_reports_an_accident_with_photos_and_the_agent_sees_the_claim(
    services: Services, bot: ChatbotService
) -> None:
    profile, identity = _insured(services)
    conversation = bot.start("wechat").id
    _report_until_photos(bot, conversation, identity)

    first = bot.receive(conversation, _photo("red"), "scene.jpg").id
    few = bot.post(conversation, "", attachments=[first])
    assert "还需要至少1个" in few.answer and few.record is None
    second = bot.receive(conversation, _photo("blue"), "damage.jpg").id
    summary = bot.post(conversation, "", attachments=[second]).answer
    assert "确认提交吗" in summary and "15:00" in summary and "苏A12345" in summary

    corrected = bot.post(conversation, "时间说错了，是昨天下午4点").answer
    assert "16:00" in corrected and "确认提交吗" in corrected
    done = bot.post(conversation, "确认")
    assert done.record is not None and done.record.type.value == "claim_report"
    claim_no = done.record.id
    assert claim_no in done.answer and done.route == "bot"

    after = services.customers.profile(profile.id)
    claim = next(c for c in after.claims if c.claim_no == claim_no)
    assert claim.stage == "报案" and "追尾" in claim.description
    assert [r.claim_no for r in after.self_service.reports] == [claim_no]
    documents = services.uploads.for_claim(claim_no)
    assert {d.id for d in documents} == {first, second}
    assert all(services.uploads.thumbnail(d.id) for d in documents)
    assert bot.conversation(conversation).flow.status is FlowStatus.DONE  # type: ignore[union-attr]


def test_a_flow_left_midway_is_resumed_with_its_answers_after_another_question(
    services: Services, bot: ChatbotService
) -> None:
    _, identity = _insured(services)
    conversation = bot.start("app").id
    bot.post(conversation, "出险了我要报案")
    bot.post(conversation, identity)
    bot.post(conversation, "昨天上午10点")
    paused = bot.post(conversation, "算了，等会再说")
    assert "继续" in paused.answer
    question = bot.post(conversation, "车上的玻璃单独碎了，车损险赔吗")
    assert question.citations  # answered from the clauses as usual
    resumed = bot.post(conversation, "继续报案").answer
    assert "哪里" in resumed  # the place: the time given before is kept
    state = bot.conversation(conversation).flow
    assert state is not None and "accident_time" in state.answers


def test_someone_hurt_in_the_middle_of_a_report_goes_to_a_person_with_what_was_gathered(
    services: Services, bot: ChatbotService
) -> None:
    _, identity = _insured(services)
    conversation = bot.start("web").id
    bot.post(conversation, "我要报案")
    bot.post(conversation, identity)
    bot.post(conversation, "刚才")
    bot.post(conversation, "在南京路停车场出口")
    answer = bot.post(conversation, "对方司机腿在流血，坐在地上起不来")
    assert answer.route == "human" and answer.handoff_id
    assert "injury_emergency" in answer.reasons
    handoff = services.handoffs.get(answer.handoff_id)
    assert "一键报案" in handoff.gathered and "南京路停车场出口" in handoff.gathered
    assert bot.conversation(conversation).flow.status is FlowStatus.HANDED_OVER  # type: ignore[union-attr]


def test_three_answers_the_bot_cannot_read_hand_over(
    services: Services, bot: ChatbotService
) -> None:
    _, identity = _insured(services)
    conversation = bot.start("web").id
    bot.post(conversation, "我要报案")
    bot.post(conversation, identity)
    first = bot.post(conversation, "记不清了")
    assert first.route == "bot" and ("几点" in first.answer or "时间" in first.answer)
    bot.post(conversation, "不太记得")
    third = bot.post(conversation, "反正就是那天")
    assert third.route == "human" and third.handoff_id
    assert services.handoffs.get(third.handoff_id).gathered.startswith("【一键报案】")


def test_a_survey_appointment_a_status_lookup_and_a_withdrawal_end_in_their_records(
    services: Services, bot: ChatbotService
) -> None:
    profile, identity = _insured(services)
    claim_no = profile.claims[0].claim_no
    conversation = bot.start("app").id
    bot.post(conversation, "我想预约视频查勘")
    bot.post(conversation, identity)
    bot.post(conversation, claim_no)
    slots = bot.post(conversation, "车停在小区地下车库").answer
    assert "1." in slots and "2." in slots
    assert "确认提交吗" in bot.post(conversation, "1").answer
    booked = bot.post(conversation, "确认")
    assert booked.record is not None and booked.record.type.value == "appointment"

    status = bot.post(conversation, "我的理赔到哪一步了")
    if "赔案" in status.answer:  # several claims: the bot asks which
        status = bot.post(conversation, claim_no)
    stage = next(c.stage for c in profile.claims if c.claim_no == claim_no)
    assert claim_no in status.answer and stage in status.answer and status.record is None

    bot.post(conversation, "这个案子我不想报了，要撤案")
    bot.post(conversation, claim_no)
    assert "确认提交吗" in bot.post(conversation, "双方已经私了").answer
    withdrawn = bot.post(conversation, "确认")
    assert withdrawn.record is not None and withdrawn.record.type.value == "withdrawal"
    after = services.customers.profile(profile.id).self_service
    assert [a.claim_no for a in after.appointments] == [claim_no]
    pending = [w for w in after.withdrawals if w.claim_no == claim_no]
    assert [w.state for w in pending] == [WithdrawalState.PENDING]  # a person confirms it


def test_fault_finding_needs_no_identity_and_names_the_rule(bot: ChatbotService) -> None:
    conversation = bot.start("web").id
    opening = bot.post(conversation, "被追尾了，这种情况算谁的责任？")
    assert not opening.needs_identity and opening.route == "bot"
    answer = opening
    for reply in ("两辆车", "没有", "没有", "都有交强险", "没有", "没有争议", "我是前车"):
        if "责任" in answer.answer and "参考" in answer.answer:
            break
        answer = bot.post(conversation, reply)
    assert "对方可能承担全部责任" in answer.answer and answer.record is None


def test_a_file_of_another_conversation_cannot_be_attached_and_nothing_is_stored(
    bot: ChatbotService,
) -> None:
    mine, theirs = bot.start("web").id, bot.start("web").id
    foreign = bot.receive(theirs, _photo("green"), "theirs.jpg").id
    before = bot.conversation(mine).turns
    with pytest.raises(InvalidQueryError, match="not a file sent in this conversation"):
        bot.post(mine, "照片", attachments=[foreign])
    assert bot.conversation(mine).turns == before


def test_through_the_api_photos_go_with_a_message_and_the_reply_carries_the_record(
    services: Services,
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    profile, identity = _insured(services)
    with TestClient(create_app(services)) as client:
        started = client.post("/v1/sessions", json={"channel": "wechat"}).json()
        session, owner = started["session_id"], {"X-Session-Secret": started["session_secret"]}
        url = f"/v1/sessions/{session}/messages"
        for text in (
            "我要报案",
            identity,
            "昨天晚上8点",
            "在人民路加油站门口",
            "倒车时撞到了后面的电线杆",
        ):
            assert client.post(url, json={"text": text}, headers=owner).status_code == 200
        client.post(url, json={"text": "没有人受伤"}, headers=owner)
        client.post(url, json={"text": "单车"}, headers=owner)
        ids = []
        for name in ("a.jpg", "b.jpg"):
            sent = client.post(
                f"/v1/sessions/{session}/uploads",
                files={"file": (name, _photo("gray"), "image/jpeg")},
                headers=owner,
            )
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        empty = client.post(url, json={"text": " "}, headers=owner)
        assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
        summary = client.post(url, json={"attachments": ids}, headers=owner)
        assert summary.status_code == 200 and "确认提交吗" in summary.json()["answer"]
        done = client.post(url, json={"text": "确认"}, headers=owner).json()
    assert done["record"]["type"] == "claim_report"
    claim_no = done["record"]["id"]
    assert claim_no in [c.claim_no for c in services.customers.profile(profile.id).claims]
    assert {d.id for d in services.uploads.for_claim(claim_no)} == set(ids)


def test_the_cli_plays_a_conversation_with_files_and_prints_the_record(
    services: Services, tmp_path: Path
) -> None:
    from cli.main import main

    _, identity = _insured(services)
    for name in ("scene.jpg", "damage.jpg"):
        (tmp_path / name).write_bytes(_photo("white"))
    lines = [
        {"text": "我要报案"},
        {"text": identity},
        {"text": "前天下午两点半"},
        {"text": "在滨江大道辅路"},
        {"text": "变道的时候和旁边的车刮了一下"},
        {"text": "没人受伤"},
        {"text": "对方是浙A88888"},
        {"text": "", "files": ["scene.jpg", "damage.jpg"]},
        {"text": "确认"},
    ]
    batch = tmp_path / "report.jsonl"
    batch.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    out = io.StringIO()
    argv = ["--data-dir", str(services.settings.data_dir), "chat", "--json", "--conversation"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYDESK_DATABASE_URL", services.settings.sqlalchemy_url())
        status = main([*argv, "--batch", str(batch)], out=out)
    assert status == 0
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(printed) == len(lines)
    assert [p.get("record", {}).get("type") for p in printed][-1] == "claim_report"
    assert all("record" not in p for p in printed[:-1])


def test_a_reply_to_a_renewal_reminder_is_answered_in_its_context(services: Services) -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from fastapi.testclient import TestClient

    from api.app import create_app

    day = date(2026, 11, 5)  # a demo day with renewal reminders (docs/benchmarks.md)
    at = datetime.combine(day, time(10), ZoneInfo(services.settings.centre_timezone))
    services.reminders.run(day, at)
    message = next(
        m for m in services.reminders.outbox() if "renewal" in [k.value for k in m.kinds]
    )
    policy = services.customers.profile(message.customer_id).policies[0]
    phone = services.customers.identifier(message.customer_id, RevealableField.PHONE)
    with TestClient(create_app(services)) as client:
        unknown = client.post("/v1/sessions", json={"channel": "wechat", "reply_to": 999_999})
        assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "reply_to"
        started = client.post("/v1/sessions", json={"channel": "wechat", "reply_to": message.id})
        session = started.json()["session_id"]
        owner = {"X-Session-Secret": started.json()["session_secret"]}
        url = f"/v1/sessions/{session}/messages"
        reply = client.post(url, json={"text": "续保"}, headers=owner).json()
        assert "续保提醒" in reply["answer"] and reply["needs_identity"]
        assert policy.policy_no not in reply["answer"]  # nothing of theirs before the check
        verified = client.post(
            url, json={"text": f"{policy.policy_no} {phone[-4:]}"}, headers=owner
        ).json()
    assert verified["verified"] and policy.policy_no in verified["answer"]
    assert f"{policy.end:%Y年%m月%d日}" in verified["answer"] or "保险期间" in verified["answer"]
    # the same word without a reminder is an ordinary renewal question
    bot = services.chatbot()
    plain = bot.post(bot.start("web").id, "续保")
    assert "续保提醒" not in plain.answer


def _member(services: Services, tiers: set[str]) -> tuple[CustomerProfile, str]:
    today = date.today()
    for summary in services.customers.list(200):
        profile = services.customers.profile(summary.id)
        policies = [p for p in profile.policies if p.start <= today <= p.end]
        if profile.tier.value in tiers and policies:
            phone = services.customers.identifier(profile.id, RevealableField.PHONE)
            return profile, f"{policies[0].policy_no} {phone[-4:]}"
    raise AssertionError(f"the demo data has no insured {tiers} member")


def test_a_member_books_a_designated_driver_and_it_counts_against_the_year(
    services: Services, bot: ChatbotService
) -> None:
    profile, identity = _member(services, {"四星", "五星"})
    before = services.privilege_service.usage(profile.id)
    conversation = bot.start("wechat").id
    assert bot.post(conversation, "今晚喝了点酒，帮我约个代驾").needs_identity
    assert "什么时候" in bot.post(conversation, identity).answer
    bot.post(conversation, "明晚十点半")
    assert "确认提交吗" in bot.post(conversation, "在新街口德基广场门口").answer
    booked = bot.post(conversation, "确认")
    assert booked.record is not None and booked.record.type.value == "privilege_booking"
    after = services.privilege_service.usage(profile.id)
    used = {u.key: u.used for u in after.items}
    assert (
        used["designated_driver"] == {u.key: u.used for u in before.items}["designated_driver"] + 1
    )


def test_a_regular_member_is_told_the_tier_does_not_include_it(
    services: Services, bot: ChatbotService
) -> None:
    _, identity = _member(services, {"普通"})
    conversation = bot.start("wechat").id
    bot.post(conversation, "帮我约个代驾")
    bot.post(conversation, identity)
    bot.post(conversation, "明晚9点")
    bot.post(conversation, "在湖南路狮子桥")
    refused = bot.post(conversation, "确认")
    assert refused.record is None and refused.route == "bot"
    assert "普通会员不包含" in refused.answer and "designated_driver" not in refused.answer
