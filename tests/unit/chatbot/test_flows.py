"""The guided conversations: happy paths, corrections, leaving and coming back, bad answers at
every slot, and handoffs from the middle of a flow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chatbot.flows import (
    FLOW_RECORD_TYPES,
    AppointmentRequest,
    ClaimReportRequest,
    FlowBook,
    FlowContext,
    FlowHandoffReason,
    FlowKey,
    FlowState,
    FlowStatus,
    FlowStep,
    RecordType,
    SlotAnswer,
    UploadRequest,
    WithdrawalRequest,
)
from chatbot.understanding import Reason
from customers.models import Policy

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 9, 15, tzinfo=ZONE)
CLAIMS = ["RC20261201000120", "RC20261115000031"]
SLOTS = [NOW + timedelta(days=1, minutes=45), NOW + timedelta(days=1, hours=4, minutes=45)]


def _policy(number: str, plate: str) -> Policy:
    return Policy(
        policy_no=number,
        plate=plate,
        coverages=[],
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        premium=3000.0,
    )


POLICIES = [_policy("P1", "粤B88888"), _policy("P2", "粤BD12345")]


@pytest.fixture(scope="module")
def book() -> FlowBook:
    return FlowBook.load()


def context(**changes: object) -> FlowContext:
    base = FlowContext(
        now=NOW,
        customer_id="C001",
        claim_numbers=CLAIMS,
        policies=POLICIES[:1],
        offered_slots=SLOTS,
    )
    return base.model_copy(update=changes)


Turn = str | tuple[str, list[str]]


def talk(book: FlowBook, turns: Sequence[Turn], ctx: FlowContext | None = None) -> list[FlowStep]:
    """Start a flow with the first message and answer with the others."""
    ctx = ctx or context()
    steps: list[FlowStep] = []
    state: FlowState | None = None
    for turn in turns:
        text, attachments = (turn, []) if isinstance(turn, str) else turn
        here = ctx.model_copy(update={"attachments": attachments})
        if state is None:
            state = book.start_flow(text, here)
            assert state is not None, f"no flow starts with {text!r}"
        step = book.advance(state, text, here)
        steps.append(step)
        state = step.state
    return steps


def at_slot(flow: FlowKey, slot: str, **answers: SlotAnswer) -> FlowState:
    return FlowState(
        flow=flow,
        status=FlowStatus.ACTIVE,
        current_slot=slot,
        answers=answers,
        started_at=NOW,
        updated_at=NOW,
    )


# ---------------------------------------------------------------------------------- starting


@pytest.mark.parametrize(
    ("message", "flow"),
    [
        ("我要报案", FlowKey.REPORT_CLAIM),
        ("出险了", FlowKey.REPORT_CLAIM),
        ("撞车了怎么报", FlowKey.REPORT_CLAIM),
        ("这种情况谁的责任", FlowKey.FAULT_FINDING),
        ("我想约查勘", FlowKey.ONLINE_SURVEY),
        ("上传资料", FlowKey.UPLOAD_DOCUMENTS),
        ("我要补材料", FlowKey.UPLOAD_DOCUMENTS),
        ("想预约人伤调解", FlowKey.INJURY_MEDIATION),
        ("查一下理赔进度", FlowKey.CLAIM_STATUS),
        ("我要撤案", FlowKey.WITHDRAW_CLAIM),
    ],
)
def test_trigger_words_start_their_flow(book: FlowBook, message: str, flow: FlowKey) -> None:
    state = book.start_flow(message, context())
    assert state is not None
    assert state.flow is flow
    assert state.status is FlowStatus.STARTING


@pytest.mark.parametrize("message", ["保费多少钱", "你好", "交强险赔多少"])
def test_other_messages_start_nothing(book: FlowBook, message: str) -> None:
    assert book.start_flow(message, context()) is None


def test_record_types_agree_with_the_file(book: FlowBook) -> None:
    assert {f.key: f.record for f in book.spec.flows} == FLOW_RECORD_TYPES
    assert FLOW_RECORD_TYPES[FlowKey.CLAIM_STATUS] is RecordType.NONE
    assert len(FLOW_RECORD_TYPES) == 8  # the seven 微理赔 functions and the privilege booking


# ---------------------------------------------------------------------------------- identity


def test_identity_is_asked_first_and_the_flow_waits_for_it(book: FlowBook) -> None:
    anonymous = context(customer_id=None)
    state = book.start_flow("我要撤案", anonymous)
    assert state is not None
    first = book.advance(state, "我要撤案", anonymous)
    assert first.needs_identity
    assert first.state.status is FlowStatus.AWAITING_IDENTITY
    again = book.advance(first.state, "为什么要验证", anonymous)
    assert again.needs_identity and again.state.status is FlowStatus.AWAITING_IDENTITY
    verified = book.advance(again.state, "", context())
    assert not verified.needs_identity
    assert verified.state.current_slot == "claim_no"
    assert CLAIMS[0] in verified.reply


def test_fault_finding_needs_no_identity(book: FlowBook) -> None:
    steps = talk(book, ["谁的责任"], context(customer_id=None))
    assert not steps[0].needs_identity
    assert steps[0].state.current_slot == "vehicles"


# ------------------------------------------------------------------------------- happy paths


def test_report_claim_happy_path(book: FlowBook) -> None:
    steps = talk(
        book,
        [
            "我要报案",
            "昨天晚上8点半",
            "深南大道科技园路口",
            "等红灯被后车追尾，后保险杠凹了",
            "没有人受伤",
            "对方车牌粤B12345",
            ("", ["u1", "u2", "u3"]),
            "确认",
        ],
    )
    assert [s.state.current_slot for s in steps[:-2]] == [
        "accident_time",
        "place",
        "what_happened",
        "injuries",
        "other_party",
        "photos",
    ]
    assert steps[-2].state.status is FlowStatus.AWAITING_CONFIRM
    assert "确认提交吗" in steps[-2].reply and "深南大道科技园路口" in steps[-2].reply
    done = steps[-1]
    assert done.state.status is FlowStatus.DONE
    assert isinstance(done.record, ClaimReportRequest)
    assert done.record.customer_id == "C001"
    assert done.record.policy_no == "P1" and done.record.plate == "粤B88888"
    assert done.record.accident_at == datetime(2026, 12, 6, 20, 30, tzinfo=ZONE)
    assert done.record.other_party == "粤B12345"
    assert done.record.upload_ids == ["u1", "u2", "u3"]
    assert done.record.injuries is False


def test_report_asks_which_vehicle_when_there_are_several(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "2", "刚才"], context(policies=POLICIES))
    assert steps[0].state.current_slot == "vehicle"
    assert "粤BD12345" in steps[0].reply
    assert steps[1].state.answers["vehicle"].value == "P2"
    assert steps[2].state.current_slot == "place"


def test_fault_finding_happy_path_cites_the_rule(book: FlowBook) -> None:
    steps = talk(
        book,
        ["谁的责任", "两辆", "没有", "没有", "有", "没有", "没有", "变道的时候蹭了", "我直行"],
        context(customer_id=None),
    )
    done = steps[-1]
    assert done.state.status is FlowStatus.DONE
    assert done.fault is not None and done.fault.simple
    assert done.fault.responsible == "other_party"
    assert done.fault.rule is not None and done.fault.rule in done.reply
    assert done.record is None and done.handoff is None


def test_online_survey_happy_path(book: FlowBook) -> None:
    steps = talk(book, ["约查勘", "1", "公司地下车库", "2", "确认"])
    record = steps[-1].record
    assert isinstance(record, AppointmentRequest)
    assert record.kind == "survey"
    assert record.claim_no == CLAIMS[0]
    assert record.start == SLOTS[1]
    assert record.place == "公司地下车库"


def test_upload_documents_happy_path(book: FlowBook) -> None:
    steps = talk(book, ["上传资料", "RC20261115000031", "维修发票", ("", ["f1", "f2"]), "是的"])
    record = steps[-1].record
    assert isinstance(record, UploadRequest)
    assert record.claim_no == CLAIMS[1]
    assert record.doc_kind == "repair_invoice"
    assert record.upload_ids == ["f1", "f2"]


def test_injury_mediation_happy_path_talks_of_injuries_without_handing_over(
    book: FlowBook,
) -> None:
    steps = talk(book, ["预约人伤调解", "1", "对方腿骨折了，还在住院", "1", "确认"])
    assert all(s.handoff is None for s in steps)
    record = steps[-1].record
    assert isinstance(record, AppointmentRequest)
    assert record.kind == "mediation"
    assert record.note == "对方腿骨折了,还在住院"
    assert record.start == SLOTS[0]


def test_claim_status_asks_the_caller_to_look_it_up(book: FlowBook) -> None:
    steps = talk(book, ["查一下理赔进度", "第二个"])
    done = steps[-1]
    assert done.state.status is FlowStatus.DONE
    assert done.lookup is not None and done.lookup.claim_no == CLAIMS[1]
    assert done.lookup.customer_id == "C001"
    assert done.record is None


def test_withdraw_claim_happy_path(book: FlowBook) -> None:
    steps = talk(book, ["我要撤案", "1", "我们私了了", "确认"])
    record = steps[-1].record
    assert isinstance(record, WithdrawalRequest)
    assert record.claim_no == CLAIMS[0]
    assert record.reason == "settled_privately"


def test_everything_in_one_message_skips_the_answered_questions(book: FlowBook) -> None:
    steps = talk(book, ["出险了，刚才在滨海大道被粤B12345追尾，人都没事，后杠凹了"])
    state = steps[0].state
    assert set(state.answers) == {
        "vehicle",
        "accident_time",
        "place",
        "what_happened",
        "injuries",
        "other_party",
    }
    assert state.answers["place"].value == "滨海大道"
    assert state.answers["other_party"].value == "粤B12345"
    assert state.current_slot == "photos"


def test_a_short_opening_is_not_taken_as_the_story(book: FlowBook) -> None:
    steps = talk(book, ["出险了，刚才被追尾", "滨海大道"])
    assert "what_happened" not in steps[-1].state.answers
    assert steps[-1].state.current_slot == "what_happened"


def test_an_answer_may_also_give_a_later_one(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天下午4点在中山路口"])
    assert steps[-1].state.answers["place"].value == "中山路口"
    assert steps[-1].state.current_slot == "what_happened"


@pytest.mark.parametrize(
    ("message", "flow"),
    [
        ("我想撤销刚才的报案", FlowKey.WITHDRAW_CLAIM),
        ("我被追尾了，是谁的责任啊", FlowKey.FAULT_FINDING),
        ("出险了要约查勘", FlowKey.ONLINE_SURVEY),
    ],
)
def test_the_specific_flow_wins_over_reporting(book: FlowBook, message: str, flow: FlowKey) -> None:
    state = book.start_flow(message, context())
    assert state is not None and state.flow is flow


def test_fault_finding_takes_the_side_from_the_story_when_it_is_clear(book: FlowBook) -> None:
    steps = talk(
        book,
        ["我被追尾了，是谁的责任啊", "两辆", "没有", "没有", "有", "没有", "没有"],
        context(customer_id=None),
    )
    done = steps[-1]
    assert done.fault is not None
    assert done.fault.scenario == "rear_end" and done.fault.responsible == "other_party"


def test_photos_can_come_over_several_messages(book: FlowBook) -> None:
    state = at_slot(FlowKey.REPORT_CLAIM, "photos")
    first = book.advance(state, "", context(attachments=["a"]))
    assert first.state.current_slot == "photos" and "还需要至少1个" in first.reply
    assert first.state.attempts.get("photos") is None
    second = book.advance(first.state, "", context(attachments=["b"]))
    assert second.state.answers["photos"].value == ["a", "b"]


def test_the_state_survives_json(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半"])
    stored = steps[-1].state.model_dump_json()
    restored = FlowState.model_validate_json(stored)
    assert restored == steps[-1].state
    assert book.advance(restored, "滨海大道", context()).state.current_slot == "what_happened"


# ------------------------------------------------------------------------------- corrections


def test_a_correction_names_the_earlier_slot_and_the_flow_goes_on(book: FlowBook) -> None:
    steps = talk(
        book,
        ["我要报案", "昨天晚上8点半", "深南大道", "时间说错了，是昨天下午4点"],
    )
    last = steps[-1]
    assert (
        last.state.answers["accident_time"].value
        == datetime(2026, 12, 6, 16, 0, tzinfo=ZONE).isoformat()
    )
    assert "已把出险时间改为" in last.reply
    assert last.state.current_slot == "what_happened"  # back where it was
    assert last.state.answers["place"].value == "深南大道"


def test_a_correction_without_the_new_value_asks_for_it(book: FlowBook) -> None:
    steps = talk(book, ["约查勘", "1", "公司停车场", "改一下地点", "家楼下车库", "1"])
    assert steps[3].state.current_slot == "place"
    assert "车辆所在位置" in steps[3].reply
    assert steps[4].state.answers["place"].value == "家楼下车库"
    assert steps[4].state.current_slot == "slot"


def test_a_correction_at_the_confirmation_shows_the_summary_again(book: FlowBook) -> None:
    steps = talk(book, ["我要撤案", "1", "私了", "不对，原因是误报"])
    last = steps[-1]
    assert last.state.status is FlowStatus.AWAITING_CONFIRM
    assert last.state.answers["reason"].value == "mistaken"
    assert "误报或重复报案" in last.reply and "确认提交吗" in last.reply


def test_a_bad_corrected_value_asks_the_slot_again(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半", "深南大道", "时间说错了，是明天"])
    assert steps[-1].state.current_slot == "accident_time"
    assert "accident_time" not in steps[-1].state.answers


def test_a_no_at_the_confirmation_asks_what_to_change(book: FlowBook) -> None:
    steps = talk(book, ["我要撤案", "1", "私了", "不是"])
    assert steps[-1].state.status is FlowStatus.AWAITING_CONFIRM
    assert "要改哪一项" in steps[-1].reply
    assert steps[-1].record is None


def test_an_unclear_confirmation_shows_the_summary_again(book: FlowBook) -> None:
    steps = talk(book, ["我要撤案", "1", "私了", "啥"])
    assert "确认提交吗" in steps[-1].reply
    assert steps[-1].state.attempts["confirm"] == 1


# --------------------------------------------------------------------------- leave and resume


@pytest.mark.parametrize("leaving", ["算了", "先不弄了", "等会再说"])
def test_leaving_pauses_and_resuming_keeps_the_answers(book: FlowBook, leaving: str) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半", leaving])
    paused = steps[-1].state
    assert paused.status is FlowStatus.PAUSED
    assert "继续" in steps[-1].reply
    later = context(now=NOW + timedelta(hours=2))
    aside = book.advance(paused, "保费多少钱", later)
    assert not aside.consumed and aside.state == paused
    resumed = book.advance(paused, "继续报案", later)
    assert resumed.consumed
    assert resumed.state.status is FlowStatus.ACTIVE
    assert resumed.state.current_slot == "place"
    assert "accident_time" in resumed.state.answers


def test_the_flows_own_trigger_resumes_it(book: FlowBook) -> None:
    paused = talk(book, ["我要撤案", "1", "算了"])[-1].state
    resumed = book.advance(paused, "我要撤案", context())
    assert resumed.state.current_slot == "reason"


def test_a_paused_flow_expires_after_a_day(book: FlowBook) -> None:
    paused = talk(book, ["我要报案", "昨天晚上8点半", "算了"])[-1].state
    later = context(now=NOW + timedelta(hours=25))
    ignored = book.advance(paused, "你好", later)
    assert not ignored.consumed and ignored.state.status is FlowStatus.EXPIRED
    restarted = book.advance(paused, "接着刚才的", later)
    assert restarted.consumed
    assert "重新开始" in restarted.reply
    assert "accident_time" not in restarted.state.answers
    assert restarted.state.current_slot == "accident_time"
    assert restarted.state.started_at == later.now


def test_a_closed_flow_does_not_take_messages(book: FlowBook) -> None:
    done = talk(book, ["查一下理赔进度", "1"])[-1].state
    step = book.advance(done, "谢谢", context())
    assert not step.consumed and step.reply == ""


# ------------------------------------------------------------------- bad input at every slot

TS = SlotAnswer(value="rear_end", display="追尾")
BAD_INPUT: list[tuple[FlowKey, str, str, dict[str, SlotAnswer], str]] = [
    (FlowKey.REPORT_CLAIM, "vehicle", "第五辆", {}, "not_a_choice"),
    (FlowKey.REPORT_CLAIM, "accident_time", "下周三", {}, "in_future"),
    (FlowKey.REPORT_CLAIM, "place", "不知道", {}, "unknown_place"),
    (FlowKey.REPORT_CLAIM, "what_happened", "嗯", {}, "empty"),
    (FlowKey.REPORT_CLAIM, "injuries", "车头坏了", {}, "not_yes_no"),
    (FlowKey.REPORT_CLAIM, "other_party", "粤B123", {}, "bad_plate"),
    (FlowKey.REPORT_CLAIM, "photos", "拍好了", {}, "no_photos"),
    (FlowKey.FAULT_FINDING, "vehicles", "不清楚", {}, "not_a_choice"),
    (FlowKey.FAULT_FINDING, "injuries", "那辆车是白色的", {}, "not_yes_no"),
    (FlowKey.FAULT_FINDING, "drunk", "你猜", {}, "not_yes_no"),
    (FlowKey.FAULT_FINDING, "insured", "什么意思", {}, "not_yes_no"),
    (FlowKey.FAULT_FINDING, "public_property", "随便吧", {}, "not_yes_no"),
    (FlowKey.FAULT_FINDING, "dispute", "你猜", {}, "not_yes_no"),
    (FlowKey.FAULT_FINDING, "scenario", "车坏了", {}, "unknown_scenario"),
    (FlowKey.FAULT_FINDING, "role", "不知道", {"scenario": TS}, "not_a_choice"),
    (FlowKey.ONLINE_SURVEY, "claim_no", "RC20260101999999", {}, "not_your_claim"),
    (FlowKey.ONLINE_SURVEY, "place", "这里", {}, "too_vague"),
    (FlowKey.ONLINE_SURVEY, "slot", "明天晚上11点", {}, "not_offered"),
    (FlowKey.UPLOAD_DOCUMENTS, "claim_no", "RC2026", {}, "bad_claim_format"),
    (FlowKey.UPLOAD_DOCUMENTS, "doc_kind", "第九个", {}, "not_a_choice"),
    (FlowKey.UPLOAD_DOCUMENTS, "photos", "等下发", {}, "no_photos"),
    (FlowKey.INJURY_MEDIATION, "claim_no", "那个", {}, "no_claim"),
    (FlowKey.INJURY_MEDIATION, "injured", "骨折", {}, "too_short"),
    (FlowKey.INJURY_MEDIATION, "slot", "随便", {}, "not_a_choice"),
    (FlowKey.CLAIM_STATUS, "claim_no", "123456789", {}, "bad_claim_format"),
    (FlowKey.WITHDRAW_CLAIM, "claim_no", "第三个", {}, "no_claim"),
    (FlowKey.WITHDRAW_CLAIM, "reason", "嗯", {}, "not_a_choice"),
    (FlowKey.PRIVILEGE_BOOKING, "privilege", "打个车", {}, "not_a_choice"),
    (FlowKey.PRIVILEGE_BOOKING, "when", "昨天下午三点", {}, "in_past"),
    (FlowKey.PRIVILEGE_BOOKING, "place", "不知道", {}, "unknown_place"),
]


def test_a_privilege_booking_takes_the_service_from_the_opening_and_wants_a_time_to_come(
    book: FlowBook,
) -> None:
    steps = talk(book, ["帮我约个代驾", "明晚8点", "在万象城北门", "确认"])
    assert "什么时候" in steps[0].reply  # 代驾 was in the opening message: not asked again
    assert "确认提交吗" in steps[2].reply and "酒后代驾" in steps[2].reply
    request = steps[3].record
    assert request is not None and request.type == "privilege_booking"
    assert request.privilege == "designated_driver" and request.place == "在万象城北门"
    assert request.for_when.astimezone(NOW.tzinfo).hour == 20
    assert request.for_when > NOW


@pytest.mark.parametrize(("flow", "slot", "text", "answers", "error"), BAD_INPUT)
def test_each_slot_refuses_a_bad_answer_with_its_reask(
    book: FlowBook,
    flow: FlowKey,
    slot: str,
    text: str,
    answers: dict[str, SlotAnswer],
    error: str,
) -> None:
    state = at_slot(flow, slot, **answers)
    step = book.advance(state, text, context(policies=POLICIES))
    spec = book.spec.flow(flow).slot(slot)
    template = book.spec.reask(spec, error)
    assert step.reply.startswith(template.split("{")[0])
    assert step.state.current_slot == slot
    assert step.state.attempts[slot] == 1
    assert slot not in step.state.answers
    assert step.handoff is None


def test_every_slot_of_every_flow_has_a_bad_input_case(book: FlowBook) -> None:
    covered = {(flow, slot) for flow, slot, *_ in BAD_INPUT}
    assert covered == {(f.key, s.name) for f in book.spec.flows for s in f.slots}


# ----------------------------------------------------------------------------------- handoffs


def test_three_bad_answers_on_a_slot_hand_over(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半", "不知道", "不知道", "不知道"])
    last = steps[-1]
    assert last.state.status is FlowStatus.HANDED_OVER
    assert last.handoff is not None
    assert last.handoff.reason is FlowHandoffReason.BOT_FAILED
    assert last.handoff.reason.routing_reason() is Reason.BOT_FAILED
    assert "出险时间" in last.handoff.answers


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("对方司机流血了", FlowHandoffReason.INJURY),
        ("对方不承认是他的责任", FlowHandoffReason.DISPUTE),
        ("对方好像喝酒了", FlowHandoffReason.DRUNK),
        ("转人工", FlowHandoffReason.EXPLICIT_REQUEST),
    ],
)
def test_a_signal_mid_flow_hands_over_with_what_was_gathered(
    book: FlowBook, message: str, reason: FlowHandoffReason
) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半", "深南大道", message])
    handoff = steps[-1].handoff
    assert handoff is not None
    assert handoff.reason is reason
    assert handoff.flow is FlowKey.REPORT_CLAIM
    assert handoff.answers == {
        "出险车辆": "粤B88888",  # the customer's only vehicle, filled without asking
        "出险时间": "12月6日 20:30",
        "出险地点": "深南大道",
    }
    assert "深南大道" in handoff.summary
    assert steps[-1].state.status is FlowStatus.HANDED_OVER


def test_an_upset_customer_is_handed_over_at_any_step(book: FlowBook) -> None:
    state = talk(book, ["我要撤案", "1"])[-1].state
    step = book.advance(state, "私了", context(upset=True))
    assert step.handoff is not None
    assert step.handoff.reason is FlowHandoffReason.UPSET
    assert step.handoff.answers == {"赔案号": CLAIMS[0]}


def test_answering_yes_to_injuries_hands_over(book: FlowBook) -> None:
    step = book.advance(at_slot(FlowKey.REPORT_CLAIM, "injuries"), "有", context())
    assert step.handoff is not None
    assert step.handoff.reason is FlowHandoffReason.INJURY
    assert step.handoff.reason.routing_reason() is Reason.INJURY_EMERGENCY


def test_no_offered_slots_hand_over(book: FlowBook) -> None:
    steps = talk(book, ["约查勘", "1", "公司停车场"], context(offered_slots=[]))
    assert steps[-1].handoff is not None
    assert steps[-1].handoff.reason is FlowHandoffReason.NO_SLOTS


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        (["三辆"], "三辆"),
        (["两辆", "没有", "没有", "没有"], "交强险"),
        (["两辆", "没有", "没有", "有", "有"], "公共设施"),
    ],
)
def test_fault_finding_hands_over_a_case_that_is_not_simple(
    book: FlowBook, answers: list[str], words: str
) -> None:
    steps = talk(book, ["谁的责任", *answers], context(customer_id=None))
    last = steps[-1]
    assert last.handoff is not None
    assert last.handoff.reason is FlowHandoffReason.NOT_SIMPLE
    assert words in last.handoff.detail and words in last.reply


def test_fault_finding_drunk_answer_is_not_simple(book: FlowBook) -> None:
    steps = talk(book, ["谁的责任", "两辆", "没有", "是"], context(customer_id=None))
    assert steps[-1].handoff is not None
    assert steps[-1].handoff.reason is FlowHandoffReason.NOT_SIMPLE


def test_a_correction_that_names_no_slot_goes_to_the_slot_the_value_fits(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天晚上8点半", "深南大道", "不对，应该是昨天下午4点"])
    last = steps[-1]
    assert last.state.answers["accident_time"].display == "12月6日 16:00"
    assert last.state.current_slot == "what_happened"


@pytest.mark.parametrize("leaving", ["好吧，算了", "我先忙，晚点再弄", "那算了"])
def test_leaving_words_inside_a_message(book: FlowBook, leaving: str) -> None:
    steps = talk(book, ["我要撤案", leaving])
    assert steps[-1].state.status is FlowStatus.PAUSED


def test_an_unsure_screening_answer_is_asked_again(book: FlowBook) -> None:
    steps = talk(book, ["谁的责任", "两辆", "没有", "不清楚"], context(customer_id=None))
    assert steps[-1].state.current_slot == "drunk"
    assert steps[-1].state.attempts["drunk"] == 1


def test_a_clock_time_after_an_approximate_one_makes_it_exact(book: FlowBook) -> None:
    steps = talk(book, ["我要报案", "昨天晚上", "八点多吧"])
    kept = steps[-1].state.answers["accident_time"]
    assert kept.value == datetime(2026, 12, 6, 20, 0, tzinfo=ZONE).isoformat()
    assert kept.period is None
    assert steps[-1].state.current_slot == "place"
    assert "place" not in steps[-1].state.attempts


def test_a_correction_ignores_fillers_around_the_new_value(book: FlowBook) -> None:
    steps = talk(
        book,
        [
            "我要报案",
            "刚刚",
            "北京路",
            "被人刮了一下",
            "没有",
            "京A12345",
            ("", ["1", "2", "3"]),
            "等等，地点不对，是北京东路",
        ],
    )
    assert steps[-1].state.answers["place"].value == "北京东路"


def test_a_choice_can_be_corrected_by_its_words(book: FlowBook) -> None:
    steps = talk(book, ["上传照片", "1", "现场照片", ("", ["p1"]), "改成维修发票"])
    assert steps[-1].state.answers["doc_kind"].value == "repair_invoice"
    assert steps[-1].state.status is FlowStatus.AWAITING_CONFIRM


def test_a_customer_with_no_claims_is_handed_over(book: FlowBook) -> None:
    steps = talk(book, ["我要撤案"], context(claim_numbers=[]))
    handoff = steps[-1].handoff
    assert handoff is not None
    assert handoff.reason is FlowHandoffReason.NO_CLAIMS
    assert handoff.reason.routing_reason() is Reason.NEEDS_DECISION
    assert "没有查到赔案" in steps[-1].reply


# ------------------------------------------------------------------- every flow, the same way

# each flow: its opening message, a valid answer to its first question, that question's slot,
# a correction naming it, and a valid new value for it
EVERY_FLOW: list[tuple[FlowKey, str, str, str, str, str]] = [
    (
        FlowKey.REPORT_CLAIM,
        "我要报案",
        "昨天晚上8点半",
        "accident_time",
        "改一下时间",
        "昨天晚上9点",
    ),
    (FlowKey.FAULT_FINDING, "算谁的责任", "两辆车", "vehicles", "改一下几辆车", "就两辆"),
    (FlowKey.ONLINE_SURVEY, "我想预约视频查勘", "1", "claim_no", "改一下赔案", "2"),
    (FlowKey.UPLOAD_DOCUMENTS, "我要上传资料", "1", "claim_no", "改一下赔案", "2"),
    (FlowKey.INJURY_MEDIATION, "想约个人伤调解", "1", "claim_no", "改一下赔案", "2"),
    (FlowKey.WITHDRAW_CLAIM, "我要撤案", "1", "claim_no", "改一下赔案", "2"),
    (
        FlowKey.PRIVILEGE_BOOKING,
        "帮我约个道路救援",
        "明天上午10点",
        "when",
        "改一下时间",
        "明天下午3点",
    ),
]
# 理赔查询 ends at its first answer: it is tested on its own above


@pytest.mark.parametrize(("flow", "opening", "first", "slot", "change", "new"), EVERY_FLOW)
def test_every_flow_pauses_resumes_with_its_answers_and_takes_a_correction(
    book: FlowBook, flow: FlowKey, opening: str, first: str, slot: str, change: str, new: str
) -> None:
    steps = talk(book, [opening, first, "算了"])
    assert steps[0].state.flow is flow
    paused = steps[-1].state
    assert paused.status is FlowStatus.PAUSED and slot in paused.answers
    resumed = book.advance(paused, "继续", context())
    assert resumed.consumed and resumed.state.status is FlowStatus.ACTIVE
    assert resumed.state.answers[slot] == paused.answers[slot]

    asked = book.advance(resumed.state, change, context())
    assert asked.state.current_slot == slot and asked.handoff is None
    corrected = book.advance(asked.state, new, context())
    assert slot in corrected.state.answers and corrected.state.current_slot != slot
    if flow is not FlowKey.FAULT_FINDING:  # its only simple answer is the one it had
        assert corrected.state.answers[slot] != paused.answers[slot]


@pytest.mark.parametrize(("flow", "opening", "first", "slot", "change", "new"), EVERY_FLOW)
def test_every_flow_hands_over_mid_way_with_what_it_gathered(
    book: FlowBook, flow: FlowKey, opening: str, first: str, slot: str, change: str, new: str
) -> None:
    steps = talk(book, [opening, first, "我要转人工"])
    handoff = steps[-1].handoff
    assert handoff is not None and handoff.flow is flow
    assert handoff.reason is FlowHandoffReason.EXPLICIT_REQUEST
    label = book.spec.flow(flow).slot(slot).label
    assert label in handoff.answers and label in handoff.summary
    assert steps[-1].state.status is FlowStatus.HANDED_OVER
