"""The guided-conversation state machine (pure): one customer message in, one step out.

``FlowBook.start_flow`` finds the flow a message starts; ``FlowBook.advance`` reads the next
message against the flow's state and returns a ``FlowStep``: the reply, the new state, and at
the end a typed record request, a claim-status lookup, a fault judgement or a handoff with what
was gathered. Nothing here reads or writes a store; the caller (``ChatbotService``) keeps the
state on the conversation and acts on the step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from chatbot.flows.fault import FaultJudgement, FaultRules
from chatbot.flows.spec import (
    FLOW_RECORD_TYPES,
    FlowKey,
    FlowsFile,
    FlowSpec,
    RecordType,
    SlotSpec,
    SlotType,
)
from chatbot.flows.validators import (
    SlotResult,
    find_place,
    find_plate,
    parse_datetime,
    pick_index,
    refine_time,
    says_no_injury,
    validate_choice,
    validate_claim_no,
    validate_datetime,
    validate_free_text,
    validate_injury,
    validate_other_party,
    validate_photos,
    validate_place,
    validate_slot_time,
    validate_yes_no,
)
from chatbot.understanding import Reason, normalise
from core.errors import ConfigurationError
from core.rules import Occurrence, PatternRule, RuleMatcher, UnlessScope, message_clauses
from core.settings import PROJECT_ROOT
from customers.models import Policy

DATA_DIR = PROJECT_ROOT / "data" / "chatbot"


class FlowStatus(StrEnum):
    """Where a flow stands."""

    STARTING = "starting"
    """Just detected: the next ``advance`` (with the same message) opens it."""
    AWAITING_IDENTITY = "awaiting_identity"
    ACTIVE = "active"
    AWAITING_CONFIRM = "awaiting_confirm"
    PAUSED = "paused"
    DONE = "done"
    HANDED_OVER = "handed_over"
    EXPIRED = "expired"


OPEN_STATUSES = frozenset(
    {FlowStatus.AWAITING_IDENTITY, FlowStatus.ACTIVE, FlowStatus.AWAITING_CONFIRM}
)
"""A flow in one of these reads the next message."""


class SlotAnswer(BaseModel):
    """One gathered answer."""

    value: str | bool | list[str] | None
    display: str
    period: str | None = Field(
        default=None, description="a time kept only to a period (下午): a clock time may refine it"
    )


class FlowState(BaseModel):
    """A flow's progress, stored on the conversation between messages (JSON-serialisable)."""

    flow: FlowKey
    status: FlowStatus = FlowStatus.STARTING
    answers: dict[str, SlotAnswer] = Field(default_factory=dict)
    current_slot: str | None = None
    partial: dict[str, list[str]] = Field(
        default_factory=dict, description="upload ids received for a photo slot not yet full"
    )
    attempts: dict[str, int] = Field(default_factory=dict, description="failed answers per slot")
    started_at: datetime
    updated_at: datetime


class FlowContext(BaseModel):
    """What the caller knows at this message."""

    now: datetime = Field(description="aware")
    timezone: str = Field(default="Asia/Shanghai", description="the centre's time zone")
    customer_id: str | None = Field(default=None, description="set once identity is verified")
    claim_numbers: list[str] = Field(default_factory=list, description="the customer's claims")
    policies: list[Policy] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list, description="upload ids on this message")
    offered_slots: list[datetime] = Field(
        default_factory=list, description="appointment starts the customer may pick from"
    )
    upset: bool = Field(default=False, description="the caller's emotion verdict on this message")

    @property
    def zone(self) -> ZoneInfo:
        """The centre's time zone."""
        return ZoneInfo(self.timezone)


class ClaimReportRequest(BaseModel):
    """A claim to report (一键报案)."""

    type: Literal["claim_report"] = "claim_report"
    customer_id: str
    policy_no: str | None
    plate: str | None
    accident_at: datetime
    place: str
    description: str
    injuries: bool
    other_party: str = Field(description="the other plate, 'none' (单车) or 'unknown'")
    upload_ids: list[str]


class AppointmentRequest(BaseModel):
    """An appointment to book (在线查勘, 人伤调解)."""

    type: Literal["appointment"] = "appointment"
    kind: Literal["survey", "mediation"]
    customer_id: str
    claim_no: str
    start: datetime
    place: str | None = None
    note: str = ""


class UploadRequest(BaseModel):
    """Uploaded files to attach to a claim (资料上传)."""

    type: Literal["upload"] = "upload"
    customer_id: str
    claim_no: str
    doc_kind: str
    upload_ids: list[str]


class WithdrawalRequest(BaseModel):
    """A claim to withdraw (撤案申请)."""

    type: Literal["withdrawal"] = "withdrawal"
    customer_id: str
    claim_no: str
    reason: str


class PrivilegeBookingRequest(BaseModel):
    """One use of a member privilege to book (代驾, 道路救援, 年检代办)."""

    type: Literal["privilege_booking"] = "privilege_booking"
    customer_id: str
    privilege: str = Field(description="the privilege's key in data/members/privileges.yaml")
    for_when: datetime
    place: str


RecordRequest = Annotated[
    ClaimReportRequest
    | AppointmentRequest
    | UploadRequest
    | WithdrawalRequest
    | PrivilegeBookingRequest,
    Field(discriminator="type"),
]


class ClaimStatusQuery(BaseModel):
    """A claim whose status the caller reads from its records and tells (理赔查询)."""

    customer_id: str
    claim_no: str


class FlowHandoffReason(StrEnum):
    """Why a flow hands the customer to a person."""

    INJURY = "injury_emergency"
    DISPUTE = "dispute"
    DRUNK = "drunk_driving"
    UPSET = "upset"
    EXPLICIT_REQUEST = "explicit_request"
    BOT_FAILED = "bot_failed"
    NOT_SIMPLE = "not_simple"
    NO_SLOTS = "no_slots"
    NO_CLAIMS = "no_claims"

    def routing_reason(self) -> Reason:
        """The routing reason the handoff queue knows it by."""
        return {
            "injury_emergency": Reason.INJURY_EMERGENCY,
            "dispute": Reason.DISPUTE,
            "upset": Reason.UPSET,
            "explicit_request": Reason.EXPLICIT_REQUEST,
            "bot_failed": Reason.BOT_FAILED,
        }.get(self.value, Reason.NEEDS_DECISION)


class FlowHandoff(BaseModel):
    """A person takes over, with what the flow gathered."""

    reason: FlowHandoffReason
    detail: str = Field(default="", description="the words or the rule behind it")
    flow: FlowKey
    flow_name: str
    answers: dict[str, str] = Field(default_factory=dict, description="label -> answer shown")
    summary: str = Field(description="one line per gathered answer, for the agent")


class FlowStep(BaseModel):
    """The outcome of one message."""

    reply: str = Field(description="what the bot says; empty when the flow did not take it")
    state: FlowState
    consumed: bool = Field(
        default=True, description="False: the flow did not take the message (answer it as usual)"
    )
    needs_identity: bool = False
    record: RecordRequest | None = None
    lookup: ClaimStatusQuery | None = None
    fault: FaultJudgement | None = None
    handoff: FlowHandoff | None = None


class FlowBook:
    """The compiled flows and fault rules; ``start_flow`` and ``advance`` are pure.

    Args:
        spec: the validated ``flows.yaml``.
        fault_rules: the compiled ``fault_rules.yaml``.

    Raises:
        ConfigurationError: the file's records disagree with ``FLOW_RECORD_TYPES``.
    """

    def __init__(self, spec: FlowsFile, fault_rules: FaultRules) -> None:
        for flow in spec.flows:
            if FLOW_RECORD_TYPES[flow.key] is not flow.record:
                raise ConfigurationError(
                    f"flow {flow.key.value!r} must ask for {FLOW_RECORD_TYPES[flow.key].value}"
                )
        self.spec = spec
        self.fault_rules = fault_rules
        names = list(spec.signals)
        self._signal_names = names
        self._signals = RuleMatcher(
            [
                PatternRule.compile(s.patterns, s.unless, UnlessScope.TEXT)
                for s in spec.signals.values()
            ],
            message_clauses,
            Occurrence.FIRST_PER_RULE,
        )
        self._triggers = RuleMatcher(
            [PatternRule.compile(f.triggers) for f in spec.flows],
            message_clauses,
            Occurrence.FIRST_PER_RULE,
        )

    @classmethod
    def load(cls, flows_path: Path | None = None, fault_path: Path | None = None) -> FlowBook:
        """Read the flow and fault rule files (the shipped ones by default).

        Raises:
            ConfigurationError: a missing or invalid file, naming it.
        """
        return cls(
            FlowsFile.load(flows_path or DATA_DIR / "flows.yaml"),
            FaultRules.load(fault_path or DATA_DIR / "fault_rules.yaml"),
        )

    # ------------------------------------------------------------------------------- reading

    def signals(self, text: str) -> set[str]:
        """The signals (injury, dispute, drunk, human, leave, resume, correction) in a
        normalised message."""
        return {self._signal_names[m.rule] for m in self._signals.find(text)}

    def detect(self, message: str) -> FlowKey | None:
        """The flow a message asks for (the first in file order whose trigger matches)."""
        matches = self._triggers.find(normalise(message))
        return self.spec.flows[min(m.rule for m in matches)].key if matches else None

    def start_flow(self, message: str, context: FlowContext) -> FlowState | None:
        """The new flow a message starts, or None.

        Args:
            message: the customer's message ("我要报案", "撞车了怎么报", "撤案").
            context: the caller's context (its ``now`` stamps the state).

        Returns:
            A ``STARTING`` state; pass it with the same message to ``advance`` for the opening
            reply.
        """
        key = self.detect(message)
        if key is None:
            return None
        return FlowState(flow=key, started_at=context.now, updated_at=context.now)

    # ------------------------------------------------------------------------------- advance

    def advance(self, state: FlowState, message: str, context: FlowContext) -> FlowStep:
        """Read the next customer message in a flow.

        Order: an expired or paused flow first (resume words or the flow's own trigger bring
        it back); then a person is called for (upset, injury, dispute, drunk driving, a request
        for a person); then leaving; then identity; then a correction of an earlier answer;
        then the answer to the current question or the confirmation.

        Args:
            state: the flow's state (not changed; the step carries the new one).
            message: the customer's message.
            context: what the caller knows at this message.

        Returns:
            The step. ``consumed`` is False when the flow is closed, or paused and the message
            does not resume it: the caller answers the message as usual.
        """
        flow = self.spec.flow(state.flow)
        text = normalise(message)
        found = self.signals(text)
        new = state.model_copy(deep=True)
        new.updated_at = context.now

        if state.status in (FlowStatus.DONE, FlowStatus.HANDED_OVER, FlowStatus.EXPIRED):
            return FlowStep(reply="", state=state, consumed=False)
        wants_back = "resume" in found or self.detect(text) is state.flow
        if state.status is not FlowStatus.STARTING and self._expired(state, context):
            if not wants_back:
                new.status = FlowStatus.EXPIRED
                return FlowStep(reply="", state=new, consumed=False)
            fresh = FlowState(flow=state.flow, started_at=context.now, updated_at=context.now)
            opening = self._open(flow, fresh, "", context)
            expired = self.spec.messages.expired.format(name=flow.name, hours=self.spec.pause_hours)
            return opening.model_copy(update={"reply": f"{expired}\n{opening.reply}"})
        if state.status is FlowStatus.PAUSED:
            if not wants_back:
                return FlowStep(reply="", state=state, consumed=False)
            new.status = FlowStatus.ACTIVE
            resumed = self.spec.messages.resumed.format(name=flow.name)
            return self._ask_next(flow, new, context, prefix=resumed)

        handoff = self._handoff_signal(flow, found, context)
        if handoff is not None:
            return self._hand_over(flow, new, handoff[0], handoff[1])
        if "leave" in found:
            new.status = FlowStatus.PAUSED
            reply = self.spec.messages.paused.format(hours=self.spec.pause_hours)
            return FlowStep(reply=reply, state=new)
        if state.status is FlowStatus.STARTING:
            return self._open(flow, new, text, context)
        if state.status is FlowStatus.AWAITING_IDENTITY:
            if context.customer_id is None:
                return FlowStep(reply=self.spec.messages.identity, state=new, needs_identity=True)
            new.status = FlowStatus.ACTIVE
            return self._ask_next(flow, new, context)
        if "correction" in found or state.status is FlowStatus.AWAITING_CONFIRM:
            corrected = self._correct(flow, new, text, found, context)
            if corrected is not None:
                return corrected
        if state.status is FlowStatus.AWAITING_CONFIRM:
            return self._confirm(flow, new, text, context)
        return self._answer(flow, new, text, context)

    # ------------------------------------------------------------------------------- pieces

    def _expired(self, state: FlowState, context: FlowContext) -> bool:
        idle = context.now - state.updated_at
        return idle > timedelta(hours=self.spec.pause_hours)

    def _handoff_signal(
        self, flow: FlowSpec, found: set[str], context: FlowContext
    ) -> tuple[FlowHandoffReason, str] | None:
        if context.upset:
            return FlowHandoffReason.UPSET, "客户情绪激动"
        if "injury" in found and not flow.injury_expected:
            return FlowHandoffReason.INJURY, "客户提到有人受伤"
        if "drunk" in found:
            return FlowHandoffReason.DRUNK, "客户提到酒驾或无证驾驶"
        if "dispute" in found:
            return FlowHandoffReason.DISPUTE, "客户提到有争议"
        if "human" in found:
            return FlowHandoffReason.EXPLICIT_REQUEST, "客户要求人工"
        return None

    def _open(self, flow: FlowSpec, state: FlowState, text: str, context: FlowContext) -> FlowStep:
        """The first reply: the intro, then identity or the first question. Answers the
        opening message already gives (a time, a plate, "没人受伤", the scenario) are kept."""
        state.status = FlowStatus.ACTIVE
        if text:
            self._prefill(flow, state, text, context, opening=True)
        if flow.identity and context.customer_id is None:
            state.status = FlowStatus.AWAITING_IDENTITY
            reply = f"{flow.intro}\n{self.spec.messages.identity}"
            return FlowStep(reply=reply, state=state, needs_identity=True)
        return self._ask_next(flow, state, context, prefix=flow.intro)

    def _prefill(
        self,
        flow: FlowSpec,
        state: FlowState,
        text: str,
        context: FlowContext,
        opening: bool = False,
    ) -> None:
        """Keep answers a message gives beyond the one asked for, where they are unambiguous:
        a clock or relative time, a place after 在 with a place word, a plate, an explicit
        "没人受伤", a fault scenario and the customer's side in it; and, in the opening
        message of an accident, the message itself as what happened."""
        for slot in flow.slots:
            if slot.name in state.answers or slot.name == state.current_slot:
                continue
            result: SlotResult | None = None
            if slot.type is SlotType.DATETIME:
                read = parse_datetime(text, context.now, context.zone)
                if read is not None and read.period is None:
                    result = validate_datetime(
                        text, context.now, context.zone, max_age_days=slot.max_age_days
                    )
            elif slot.type is SlotType.PLACE:
                place = find_place(text)
                result = validate_place(place, slot.min_chars) if place else None
            elif slot.type is SlotType.OTHER_PARTY and find_plate(text):
                result = validate_other_party(text)
            elif slot.type is SlotType.INJURY and says_no_injury(text):
                result = SlotResult(ok=True, value=False, display="无人受伤")
            elif slot.type is SlotType.FREE_TEXT and opening and slot.name == "what_happened":
                if len(text) >= _STORY_CHARS and _ACCIDENT.search(text):
                    result = validate_free_text(text, slot.min_chars)
            elif slot.type is SlotType.CHOICE and opening and slot.prefill:
                chosen = self._validate(slot, state, text, context)
                result = chosen if chosen.ok else None
            elif slot.type is SlotType.FAULT_SCENARIO:
                scenario = self.fault_rules.scenario(text)
                if scenario is not None:
                    result = SlotResult(ok=True, value=scenario.id, display=scenario.name)
            elif slot.type is SlotType.FAULT_ROLE and pick_index(text, 2) is None:
                role = self._validate(slot, state, text, context)
                result = role if role.ok else None
            if result is not None and result.ok:
                state.answers[slot.name] = _kept(result)

    def _next_slot(self, flow: FlowSpec, state: FlowState, context: FlowContext) -> SlotSpec | None:
        for slot in flow.slots:
            if slot.name in state.answers:
                continue
            if slot.type is SlotType.CLAIM_NO and slot.single and len(context.claim_numbers) == 1:
                only_claim = context.claim_numbers[0]
                state.answers[slot.name] = SlotAnswer(value=only_claim, display=only_claim)
                continue
            if slot.type is SlotType.POLICY and len(context.policies) <= 1:
                # one vehicle (or none on file): nothing to ask
                only = context.policies[0] if context.policies else None
                state.answers[slot.name] = SlotAnswer(
                    value=only.policy_no if only else None, display=only.plate if only else ""
                )
                continue
            return slot
        return None

    def _ask_next(
        self, flow: FlowSpec, state: FlowState, context: FlowContext, prefix: str = ""
    ) -> FlowStep:
        """Ask the first unanswered question, or finish."""
        lead = f"{prefix}\n" if prefix else ""
        slot = self._next_slot(flow, state, context)
        if slot is not None:
            if slot.type is SlotType.SLOT_TIME and not context.offered_slots:
                return self._hand_over(flow, state, FlowHandoffReason.NO_SLOTS, "没有可预约时段")
            if slot.type is SlotType.CLAIM_NO and not context.claim_numbers:
                said = self.spec.reask(slot, "no_claims")
                return self._hand_over(
                    flow, state, FlowHandoffReason.NO_CLAIMS, "名下没有赔案记录", said
                )
            state.status = FlowStatus.ACTIVE
            state.current_slot = slot.name
            return FlowStep(reply=lead + self._question(slot, state, context), state=state)
        state.current_slot = None
        if flow.confirm:
            state.status = FlowStatus.AWAITING_CONFIRM
            summary = self.spec.messages.confirm.format(summary=self._summary(flow, state))
            return FlowStep(reply=lead + summary, state=state)
        return self._finish(flow, state, context, lead)

    def _question(self, slot: SlotSpec, state: FlowState, context: FlowContext) -> str:
        return self._fill(slot, slot.question, state, context)

    def _fill(self, slot: SlotSpec, template: str, state: FlowState, context: FlowContext) -> str:
        zone = context.zone
        roles = ""
        scenario_id = state.answers.get("scenario")
        if scenario_id is not None:
            scenario = self.fault_rules.by_id(str(scenario_id.value))
            if scenario is not None:
                roles = _numbered([r.label for r in scenario.roles])
        have = len(state.partial.get(slot.name, []))
        values = {
            "claims": _numbered(context.claim_numbers) or "（暂无）",
            "slots": _numbered(
                [
                    f"{s.astimezone(zone).month}月{s.astimezone(zone).day}日 "
                    f"{s.astimezone(zone):%H:%M}"
                    for s in context.offered_slots
                ]
            ),
            "options": _numbered([o.label for o in slot.options]),
            "policies": _numbered([f"{p.plate}（{p.policy_no}）" for p in context.policies]),
            "roles": roles,
            "missing": str(max(slot.min_photos - have, 1)),
        }
        return template.format(**values)

    def _validate(
        self, slot: SlotSpec, state: FlowState, text: str, context: FlowContext
    ) -> SlotResult:
        kind = slot.type
        if kind is SlotType.DATETIME:
            return validate_datetime(
                text, context.now, context.zone, max_age_days=slot.max_age_days, future=slot.future
            )
        if kind is SlotType.PLACE:
            return validate_place(text, slot.min_chars)
        if kind is SlotType.FREE_TEXT:
            return validate_free_text(text, slot.min_chars)
        if kind is SlotType.YES_NO:
            return validate_yes_no(text)
        if kind is SlotType.INJURY:
            return validate_injury(text)
        if kind is SlotType.OTHER_PARTY:
            return validate_other_party(text)
        if kind is SlotType.PHOTOS:
            return validate_photos(
                context.attachments, state.partial.get(slot.name, []), slot.min_photos
            )
        if kind is SlotType.CLAIM_NO:
            return validate_claim_no(text, context.claim_numbers)
        if kind is SlotType.SLOT_TIME:
            return validate_slot_time(text, context.offered_slots, context.now, context.zone)
        if kind is SlotType.CHOICE:
            return validate_choice(text, [(o.value, o.label, o.patterns) for o in slot.options])
        if kind is SlotType.POLICY:
            return _pick_policy(text, context.policies)
        if kind is SlotType.FAULT_SCENARIO:
            scenario = self.fault_rules.scenario(text)
            if scenario is None:
                return SlotResult(ok=False, error="unknown_scenario")
            return SlotResult(ok=True, value=scenario.id, display=scenario.name)
        # FAULT_ROLE
        chosen = state.answers.get("scenario")
        scenario = self.fault_rules.by_id(str(chosen.value)) if chosen else None
        role = self.fault_rules.role(scenario, text) if scenario else None
        if scenario is None or role is None:
            return SlotResult(ok=False, error="not_a_choice")
        label = next(r.label for r in scenario.roles if r.key == role)
        return SlotResult(ok=True, value=role, display=label)

    def _answer(
        self, flow: FlowSpec, state: FlowState, text: str, context: FlowContext
    ) -> FlowStep:
        slot = flow.slot(state.current_slot) if state.current_slot else None
        if slot is None:
            return self._ask_next(flow, state, context)
        result = self._validate(slot, state, text, context)
        if result.partial and isinstance(result.value, list):
            state.partial[slot.name] = result.value
            reply = self.spec.messages.partial_photos.format(
                count=len(result.value), missing=slot.min_photos - len(result.value)
            )
            return FlowStep(reply=reply, state=state)
        if not result.ok:
            refined = self._refined(flow, state, text, context)
            if refined is not None:
                return refined
            return self._failed(flow, slot, state, result.error or "", context)
        return self._keep(flow, slot, state, result, text, context)

    def _refined(
        self, flow: FlowSpec, state: FlowState, text: str, context: FlowContext
    ) -> FlowStep | None:
        """A clock time that does not answer the current question but makes an approximate
        earlier time exact ("昨天晚上", then "八点多吧" when the place is asked)."""
        for slot in flow.slots:
            kept = state.answers.get(slot.name)
            if slot.type is not SlotType.DATETIME or kept is None or kept.period is None:
                continue
            earlier = datetime.fromisoformat(str(kept.value))
            result = refine_time(earlier, kept.period, text, context.now, context.zone)
            if result is None:
                continue
            state.answers[slot.name] = _kept(result)
            said = self.spec.messages.corrected.format(label=slot.label, display=result.display)
            return self._ask_next(flow, state, context, prefix=said)
        return None

    def _keep(
        self,
        flow: FlowSpec,
        slot: SlotSpec,
        state: FlowState,
        result: SlotResult,
        text: str,
        context: FlowContext,
        prefix: str = "",
    ) -> FlowStep:
        state.answers[slot.name] = _kept(result)
        state.partial.pop(slot.name, None)
        state.attempts.pop(slot.name, None)
        if result.handoff:
            return self._hand_over(flow, state, FlowHandoffReason.INJURY, "客户回答有人受伤")
        if flow.key is FlowKey.FAULT_FINDING:
            reason = self.fault_rules.not_simple(_values(state))
            if reason is not None:
                return self._hand_over(flow, state, FlowHandoffReason.NOT_SIMPLE, reason)
        if slot.type not in (SlotType.PHOTOS, SlotType.CLAIM_NO, SlotType.SLOT_TIME):
            self._prefill(flow, state, text, context)
        return self._ask_next(flow, state, context, prefix=prefix)

    def _failed(
        self, flow: FlowSpec, slot: SlotSpec, state: FlowState, error: str, context: FlowContext
    ) -> FlowStep:
        if error == "no_slots":
            return self._hand_over(flow, state, FlowHandoffReason.NO_SLOTS, "没有可预约时段")
        state.attempts[slot.name] = state.attempts.get(slot.name, 0) + 1
        if state.attempts[slot.name] >= self.spec.max_attempts:
            return self._hand_over(
                flow,
                state,
                FlowHandoffReason.BOT_FAILED,
                f"“{slot.label}”连续{state.attempts[slot.name]}次未能识别",
            )
        reask = self._fill(slot, self.spec.reask(slot, error), state, context)
        return FlowStep(reply=reask, state=state)

    def _correct(
        self, flow: FlowSpec, state: FlowState, text: str, found: set[str], context: FlowContext
    ) -> FlowStep | None:
        """A change to an earlier answer: the slot named by one of its aliases. With the new
        value in the message it is kept at once; without, the slot is asked again."""
        target = _named_slot(flow, state, text)
        if target is None and "correction" in found:
            target = self._guessed_slot(flow, state, text, context)
        if target is None:
            if "correction" in found and state.status is FlowStatus.AWAITING_CONFIRM:
                return FlowStep(reply=self.spec.messages.confirm_no, state=state)
            return None
        remainder = _strip_correction(text, target)
        result = self._validate(target, state, remainder, context) if remainder else None
        if result is not None and result.ok:
            said = self.spec.messages.corrected.format(label=target.label, display=result.display)
            state.status = FlowStatus.ACTIVE
            return self._keep(flow, target, state, result, remainder, context, prefix=said)
        state.answers.pop(target.name, None)
        state.status = FlowStatus.ACTIVE
        state.current_slot = target.name
        ask = self.spec.messages.correct_which.format(label=target.label)
        return FlowStep(reply=f"{ask}\n{self._question(target, state, context)}", state=state)

    def _guessed_slot(
        self, flow: FlowSpec, state: FlowState, text: str, context: FlowContext
    ) -> SlotSpec | None:
        """The earlier slot a correction that names none means ("不对，是昨天下午4点"): the
        latest answered slot of a kind a value cannot be mistaken for (a time, a plate, a
        claim number) that the new value fits."""
        for slot in reversed(flow.slots):
            if (
                slot.name not in state.answers
                or slot.name == state.current_slot
                or slot.type not in _DISTINCT_TYPES
            ):
                continue
            remainder = _strip_correction(text, slot)
            if remainder and self._validate(slot, state, remainder, context).ok:
                return slot
        return None

    def _confirm(
        self, flow: FlowSpec, state: FlowState, text: str, context: FlowContext
    ) -> FlowStep:
        answer = validate_yes_no(text)
        if answer.ok and answer.value is True:
            return self._finish(flow, state, context, "")
        if answer.ok:
            return FlowStep(reply=self.spec.messages.confirm_no, state=state)
        state.attempts["confirm"] = state.attempts.get("confirm", 0) + 1
        if state.attempts["confirm"] >= self.spec.max_attempts:
            return self._hand_over(flow, state, FlowHandoffReason.BOT_FAILED, "未能确认提交")
        summary = self.spec.messages.confirm.format(summary=self._summary(flow, state))
        return FlowStep(reply=summary, state=state)

    def _finish(
        self, flow: FlowSpec, state: FlowState, context: FlowContext, lead: str
    ) -> FlowStep:
        state.status = FlowStatus.DONE
        state.current_slot = None
        if flow.key is FlowKey.FAULT_FINDING:
            judgement = self.fault_rules.judge_fault(_values(state))
            if not judgement.simple:
                return self._hand_over(
                    flow, state, FlowHandoffReason.NOT_SIMPLE, judgement.reason or ""
                )
            template = (
                self.spec.messages.fault_result_customer
                if judgement.responsible == "customer"
                else self.spec.messages.fault_result_other
            )
            reply = template.format(scenario=judgement.scenario_name, rule=judgement.rule)
            return FlowStep(reply=lead + reply, state=state, fault=judgement)
        customer = context.customer_id or ""
        if flow.key is FlowKey.CLAIM_STATUS:
            claim_no = str(state.answers["claim_no"].value)
            reply = self.spec.messages.status_lookup.format(claim_no=claim_no)
            return FlowStep(
                reply=lead + reply,
                state=state,
                lookup=ClaimStatusQuery(customer_id=customer, claim_no=claim_no),
            )
        record = _record(flow, state, customer, context)
        return FlowStep(reply=lead + flow.done, state=state, record=record)

    def gathered(self, state: FlowState) -> str:
        """What a flow has gathered so far, for the person taking the customer over when
        something outside the flow (a complaint, a legal threat) hands them over.

        Args:
            state: the flow's state.

        Returns:
            The flow's name and one line per answer given.
        """
        flow = self.spec.flow(state.flow)
        return f"【{flow.name}】\n" + (self._summary(flow, state) or "（尚未收集到信息）")

    def _summary(self, flow: FlowSpec, state: FlowState) -> str:
        return "\n".join(
            f"- {slot.label}：{state.answers[slot.name].display}"
            for slot in flow.slots
            if slot.name in state.answers and state.answers[slot.name].display
        )

    def _hand_over(
        self,
        flow: FlowSpec,
        state: FlowState,
        reason: FlowHandoffReason,
        detail: str,
        said: str | None = None,
    ) -> FlowStep:
        state.status = FlowStatus.HANDED_OVER
        answers = {
            slot.label: state.answers[slot.name].display
            for slot in flow.slots
            if slot.name in state.answers and state.answers[slot.name].display
        }
        summary = f"【{flow.name}】{detail}\n" + (
            self._summary(flow, state) or "（尚未收集到信息）"
        )
        if said is not None:
            reply = said
        elif reason is FlowHandoffReason.NOT_SIMPLE:
            reply = self.spec.messages.not_simple.format(reason=detail)
        elif reason is FlowHandoffReason.BOT_FAILED:
            reply = self.spec.messages.bot_failed
        else:
            reply = self.spec.messages.handoff
        handoff = FlowHandoff(
            reason=reason,
            detail=detail,
            flow=flow.key,
            flow_name=flow.name,
            answers=answers,
            summary=summary,
        )
        return FlowStep(reply=reply, state=state, handoff=handoff)


# ----------------------------------------------------------------------------------- helpers


def _kept(result: SlotResult) -> SlotAnswer:
    return SlotAnswer(value=result.value, display=result.display, period=result.period)


def _numbered(items: Sequence[str]) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))


def _values(state: FlowState) -> dict[str, str | bool | list[str] | None]:
    return {name: answer.value for name, answer in state.answers.items()}


def _pick_policy(text: str, policies: Sequence[Policy]) -> SlotResult:
    index = pick_index(text, len(policies))
    if index is None:
        plate = find_plate(text)
        upper = text.upper()
        for position, policy in enumerate(policies):
            if plate == policy.plate.replace("·", "") or policy.plate.upper()[-5:] in upper:
                index = position
                break
    if index is None:
        return SlotResult(ok=False, error="not_a_choice")
    chosen = policies[index]
    return SlotResult(ok=True, value=chosen.policy_no, display=chosen.plate)


_STORY_CHARS = 12
_ACCIDENT = re.compile(r"撞|蹭|刮|剐|追尾|碰|倒车|溜|变道|并线|砸|翻")
"""An opening message this long that tells an accident is kept as what happened."""

_DISTINCT_TYPES = frozenset(
    {
        SlotType.DATETIME,
        SlotType.OTHER_PARTY,
        SlotType.CLAIM_NO,
        SlotType.SLOT_TIME,
        SlotType.CHOICE,
    }
)
"""Slot types whose values are recognisable on their own, so a correction may omit the name
(a choice by its option's words: "改成维修发票")."""


def _named_slot(flow: FlowSpec, state: FlowState, text: str) -> SlotSpec | None:
    """The earlier answered slot a correction names (by alias or label), or None."""
    for slot in flow.slots:
        if slot.name not in state.answers or slot.name == state.current_slot:
            continue
        if slot.label in text or any(alias in text for alias in slot.aliases):
            return slot
    return None


_CORRECTION_WORDS = re.compile(
    r"说错了|写错了|填错了|搞错了|弄错了|改一下|修改|更正|改成|改为|不对|重新(说|填)|应该是|"
    r"等等|等一下|对了|不好意思|抱歉|哎呀|^(那个|哦|啊|嗯)|是|[,.，。:：]"
)


def _strip_correction(text: str, slot: SlotSpec) -> str:
    """The new value in a correction: the message without the correction words and the
    slot's name ("时间说错了，是昨天下午4点" -> "昨天下午4点")."""
    rest = text
    for word in sorted([slot.label, *slot.aliases], key=len, reverse=True):
        rest = rest.replace(word, " ")
    rest = _CORRECTION_WORDS.sub(" ", rest)
    return re.sub(r"\s+", " ", rest).strip()


def _record(flow: FlowSpec, state: FlowState, customer: str, context: FlowContext) -> RecordRequest:
    values = _values(state)

    def text(name: str) -> str:
        return str(values.get(name) or "")

    def ids(name: str) -> list[str]:
        value = values.get(name)
        return list(value) if isinstance(value, list) else []

    if flow.record is RecordType.CLAIM_REPORT:
        policy_no = values.get("vehicle")
        plate = next((p.plate for p in context.policies if p.policy_no == policy_no), None)
        return ClaimReportRequest(
            customer_id=customer,
            policy_no=str(policy_no) if policy_no else None,
            plate=plate,
            accident_at=datetime.fromisoformat(text("accident_time")),
            place=text("place"),
            description=text("what_happened"),
            injuries=bool(values.get("injuries")),
            other_party=text("other_party"),
            upload_ids=ids("photos"),
        )
    if flow.record is RecordType.APPOINTMENT:
        note = text("injured") if "injured" in values else ""
        return AppointmentRequest(
            kind="mediation" if flow.key is FlowKey.INJURY_MEDIATION else "survey",
            customer_id=customer,
            claim_no=text("claim_no"),
            start=datetime.fromisoformat(text("slot")),
            place=text("place") or None,
            note=note,
        )
    if flow.record is RecordType.UPLOAD:
        return UploadRequest(
            customer_id=customer,
            claim_no=text("claim_no"),
            doc_kind=text("doc_kind"),
            upload_ids=ids("photos"),
        )
    if flow.record is RecordType.PRIVILEGE_BOOKING:
        return PrivilegeBookingRequest(
            customer_id=customer,
            privilege=text("privilege"),
            for_when=datetime.fromisoformat(text("when")),
            place=text("place"),
        )
    return WithdrawalRequest(customer_id=customer, claim_no=text("claim_no"), reason=text("reason"))


@lru_cache(maxsize=1)
def default_book() -> FlowBook:
    """The shipped flows and fault rules, read once on first use (not at import)."""
    return FlowBook.load()


def start_flow(
    message: str, context: FlowContext, book: FlowBook | None = None
) -> FlowState | None:
    """``FlowBook.start_flow`` on the shipped flows (or ``book``)."""
    return (book or default_book()).start_flow(message, context)


def advance(
    state: FlowState, message: str, context: FlowContext, book: FlowBook | None = None
) -> FlowStep:
    """``FlowBook.advance`` on the shipped flows (or ``book``)."""
    return (book or default_book()).advance(state, message, context)


def judge_fault(answers: dict[str, str | bool | list[str] | None]) -> FaultJudgement:
    """``FaultRules.judge_fault`` on the shipped fault rules."""
    return default_book().fault_rules.judge_fault(answers)
