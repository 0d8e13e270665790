"""What goes over the wire: request bodies, responses and the one error shape.

These models are the API's contract and are deliberately separate from the domain models in
``chatbot``: a field added to a ``Conversation`` (rate-limit timestamps, the verified customer's
id, moods) must not leak out by accident. Length limits are declared here so that FastAPI
rejects an over-long message before it reaches the chatbot, and so that /docs shows them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from accounts.authority import MAX_AMOUNT
from assist.facts import CallFacts
from assist.models import AgentAssist
from assist.wrapup import CallSummary
from calls.approvals import MAX_REASON_CHARS, Approval
from calls.models import MAX_CALL_ID_CHARS, MAX_SEGMENT_CHARS, Call
from chatbot.handoff import HandoffRequest, HandoffState
from chatbot.models import MAX_MESSAGE_CHARS, BotAnswer, Conversation, RecordRef
from chatbot.queue import MAX_RESOLUTION_CHARS
from chatbot.replies import MAX_REPLY_CHARS
from conversation.models import Speaker, Turn
from core.models import Emotion, Hit, PassageKind
from customers.models import (
    Claim,
    CustomerProfile,
    Interaction,
    MemberTier,
    Policy,
    Vehicle,
    WithdrawalRequest,
)

MAX_SESSION_ID_CHARS = 40  # the width of the id columns in chat_conversations / chat_handoffs

Channel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z][a-z0-9_-]{0,15}$"),
]
ResolutionNote = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_RESOLUTION_CHARS)
]


class _Request(BaseModel):
    # an unknown field is more likely a client typo than something to ignore silently
    model_config = ConfigDict(extra="forbid")


# ----- errors -----------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong, for a program (``code``) and for a person (``message``)."""

    code: str = Field(description="stable machine-readable code", examples=["session_not_found"])
    message: str = Field(description="what went wrong and, where it helps, what to do")
    field: str | None = Field(
        default=None, description="the request field at fault (validation errors)"
    )


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx response."""

    error: ErrorDetail


# ----- sessions and messages ---------------------------------------------------------------------


class SessionCreate(_Request):
    """Start a conversation."""

    channel: Channel = Field(
        default="api",
        description="where the customer is writing from (a short lowercase name)",
        examples=["app", "wechat", "web"],
    )
    reply_to: int | None = Field(
        default=None,
        ge=1,
        description="the 车主秘书 message (outbox id) the customer is replying to: the bot then "
        "answers a reply such as 续保 in that reminder's context",
    )


class SessionCreated(BaseModel):
    """A new conversation: send its messages to ``/v1/sessions/{session_id}/messages``, each
    request with the ``X-Session-Secret`` header."""

    session_id: str
    session_secret: str = Field(
        description="proves the conversation is this customer's: keep it in the client and send "
        "it as X-Session-Secret; it is shown only here"
    )


class MessageIn(_Request):
    """One customer message: text, files sent with it, or both."""

    attachments: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list,
        max_length=20,
        description="ids of files sent in this session (POST /v1/sessions/{id}/uploads) that go "
        "with the message, e.g. the accident photos a report asks for",
    )
    text: str = Field(
        default="",
        max_length=MAX_MESSAGE_CHARS,
        validate_default=True,
        description=f"the customer's message, up to {MAX_MESSAGE_CHARS} characters; empty only "
        "when the message carries attachments",
        examples=["车损险包括哪些"],
    )

    @field_validator("text")
    @classmethod
    def _says_something(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if not value and not info.data.get("attachments"):
            raise ValueError("the message is empty: give a text, or attachments")
        return value


class Reply(BaseModel):
    """The bot's reply to one customer message."""

    session_id: str
    route: Literal["bot", "human"] = Field(
        description="bot: answered here; human: the conversation was handed to an agent"
    )
    intent: str = Field(examples=["clause_query"])
    answer: str = Field(description="what to show the customer")
    citations: list[str] = Field(description="the clauses the answer rests on")
    reasons: list[str] = Field(description="why a human takes over (routing reasons)")
    handoff_id: str | None = Field(description="the queued handoff when route is human")
    needs_identity: bool = Field(description="the bot asked the customer to verify identity")
    verified: bool = Field(description="the customer passed the identity check")
    record: RecordRef | None = Field(
        default=None,
        description="what a self-service flow created with this answer: a claim report (its "
        "claim number), an appointment, an upload, a withdrawal request",
    )

    @classmethod
    def from_answer(cls, answer: BotAnswer) -> Reply:
        return cls(
            session_id=answer.session_id,
            route=answer.route,
            intent=answer.intent,
            answer=answer.answer,
            citations=answer.citations,
            reasons=answer.reasons,
            handoff_id=answer.handoff_id,
            needs_identity=answer.needs_identity,
            verified=answer.verified,
            record=answer.record,
        )


class Message(BaseModel):
    """One turn of a conversation."""

    speaker: Speaker = Field(description="customer, bot, or agent (a person, after a handoff)")
    sender: Literal["customer", "bot", "agent"] = Field(
        description="the same as speaker (kept for clients of API 1.0)"
    )
    author: str | None = Field(
        default=None, description="the human agent's ID on their replies; None otherwise"
    )
    text: str
    at: datetime | None = Field(description="when it was said, if recorded")

    @classmethod
    def from_turn(cls, turn: Turn) -> Message:
        return cls(
            speaker=turn.speaker,
            sender=turn.speaker.value,
            author=turn.author,
            text=turn.text,
            at=turn.at,
        )


class AgentMessageIn(_Request):
    """An agent's reply to the customer of a handoff they accepted (the agent is the one whose
    token authenticates the request)."""

    text: str = Field(
        min_length=1,
        max_length=MAX_REPLY_CHARS,
        description=f"the reply, 1 to {MAX_REPLY_CHARS} characters; checked by the compliance "
        "guard (a red line is refused with 422 reply_not_compliant)",
        examples=["您好，我是人工客服，您的情况我已经看到了，我来为您处理。"],
    )


class Session(BaseModel):
    """A conversation as the customer's client may show it."""

    session_id: str
    channel: str
    created_at: datetime
    messages: list[Message] = Field(description="oldest first")
    handoff_id: str | None = Field(description="set once the conversation went to a human")

    @classmethod
    def from_conversation(cls, conversation: Conversation) -> Session:
        return cls(
            session_id=conversation.id,
            channel=conversation.channel,
            created_at=conversation.created_at,
            messages=[Message.from_turn(t) for t in conversation.turns],
            handoff_id=conversation.handoff_id,
        )


# ----- handoffs ---------------------------------------------------------------------------------


class HandoffCustomer(BaseModel):
    """The verified customer, identifiers masked (as the console shows them)."""

    name: str = Field(description="masked, e.g. 王*明")
    salutation: str
    phone: str = Field(description="masked, e.g. 138****5678")
    id_number: str = Field(description="masked")
    city: str
    tier: MemberTier
    privileges: list[str]
    vehicles: list[Vehicle]
    policies: list[Policy]
    claims: list[Claim]
    interactions: list[Interaction]

    @classmethod
    def from_profile(cls, profile: CustomerProfile) -> HandoffCustomer:
        # the internal customer id stays inside: agents look customers up by policy or plate
        return cls.model_validate(profile.model_dump(exclude={"id"}))


class MoodPoint(BaseModel):
    """The customer's emotion on one of their messages."""

    turn: int = Field(description="index of the customer message, oldest first")
    label: Emotion
    intensity: float
    upset: bool


class Reference(BaseModel):
    """A passage the bot retrieved."""

    citation: str
    title: str
    kind: PassageKind
    text: str

    @classmethod
    def from_hit(cls, hit: Hit) -> Reference:
        return cls(citation=hit.citation, title=hit.title, kind=hit.kind, text=hit.text)


class Handoff(BaseModel):
    """A conversation handed to a human, with everything the bot knew."""

    id: str
    session_id: str
    state: HandoffState
    priority: int = Field(description="0 (injury, emergency) is served first … 3")
    created_at: datetime
    accepted_by: str | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    intent: str
    intent_label: str
    reasons: list[str]
    reason_text: list[str]
    suggested_reply: str = Field(description="a guarded first reply for the agent")
    customer: HandoffCustomer | None = Field(description="None when not verified")
    transcript: list[Message] = Field(description="ID, phone and card numbers masked")
    mood: list[MoodPoint]
    references: list[Reference]
    bot_answers: list[str]
    learned_only: bool = Field(
        description="only the learned detector asked for a person (up for routing review)"
    )

    @classmethod
    def from_request(cls, request: HandoffRequest) -> Handoff:
        return cls(
            id=request.id,
            session_id=request.session_id,
            state=request.state,
            priority=request.priority,
            created_at=request.created_at,
            accepted_by=request.accepted_by,
            accepted_at=request.accepted_at,
            resolved_at=request.resolved_at,
            resolution=request.resolution,
            intent=request.intent,
            intent_label=request.intent_label,
            reasons=request.reasons,
            reason_text=request.reason_text,
            suggested_reply=request.suggested_reply,
            customer=HandoffCustomer.from_profile(request.customer) if request.customer else None,
            transcript=[Message.from_turn(t) for t in request.transcript],
            mood=[MoodPoint.model_validate(m.model_dump()) for m in request.mood],
            references=[Reference.from_hit(h) for h in request.references],
            bot_answers=request.bot_answers,
            learned_only=request.learned_only,
        )


class HandoffList(BaseModel):
    """Handoffs most urgent first, then longest waiting; and the queue's size per state."""

    items: list[Handoff]
    counts: dict[HandoffState, int]


class AcceptRequest(_Request):
    """An agent takes a waiting handoff: no fields (the agent is the one whose token
    authenticates the request); the body may be omitted."""


class ResolveRequest(_Request):
    """The agent who accepted a handoff closes it (the agent is the one whose token
    authenticates the request)."""

    resolution: ResolutionNote = Field(
        description=f"what was done, at most {MAX_RESOLUTION_CHARS} characters"
    )


class LoginRequest(_Request):
    """An agent's PolicyDesk account."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        json_schema_extra={"format": "password", "writeOnly": True}
    )


class TokenResponse(BaseModel):
    """A short-lived access token: send it as ``Authorization: Bearer <access_token>``."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until it expires")
    expires_at: datetime


class Health(BaseModel):
    """Liveness, and whether the chatbot is loaded."""

    status: Literal["ok"] = "ok"
    ready: bool = Field(description="the chatbot (index and models) is loaded")
    worker: int = Field(description="the serving process's id (several workers share a port)")


# ----- live calls --------------------------------------------------------------------------------


class CallCreate(_Request):
    """A call that reached an agent, as the telephony side reports it."""

    call_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CALL_ID_CHARS,
        description="the telephony side's id for the call; generated when omitted",
    )
    caller_number: str = Field(min_length=1, max_length=32, examples=["13812345678"])
    agent: str = Field(min_length=1, max_length=64, description="the agent's username")
    customer_id: str | None = Field(
        default=None, min_length=1, max_length=32, description="when the IVR identified them"
    )


class CallOpened(BaseModel):
    """The call as opened: ``customer_id`` is null for an anonymous call."""

    call_id: str
    customer_id: str | None


class SegmentIn(_Request):
    """One piece of the speech-to-text transcript."""

    seq: int = Field(ge=0, le=1_000_000, description="its place in the call")
    speaker: Literal["customer", "agent"]
    text: str = Field(min_length=1, max_length=MAX_SEGMENT_CHARS)
    final: bool = Field(description="final: the assist runs; interim: the transcript updates")


class SegmentView(BaseModel):
    """A transcript segment as stored (redacted)."""

    seq: int
    speaker: Speaker
    text: str
    final: bool
    received_at: datetime


class CallView(BaseModel):
    """A call: who, how it goes, and (for one call) its transcript and the latest view."""

    call_id: str
    agent: str
    customer_id: str | None
    caller: str = Field(description="the caller's number, masked")
    state: Literal["live", "ended"]
    started_at: datetime
    ended_at: datetime | None
    tier: str
    mood: Emotion
    intensity: float
    trend: str
    alert: str | None = Field(description="the active alert, in words")
    findings: int = Field(description="compliance findings on the agent's turns")
    findings_text: list[str]
    whispers: list[str] = Field(description="supervisors' notes to the agent")
    flagged_by: str | None
    segments: list[SegmentView] | None = Field(default=None, description="for one call only")
    latest: AgentAssist | None = Field(default=None, description="for one call only")

    @classmethod
    def from_call(cls, call: Call, with_segments: bool) -> CallView:
        info = call.info
        return cls(
            call_id=call.id,
            agent=call.agent,
            customer_id=call.customer_id,
            caller=call.caller,
            state=call.state.value,
            started_at=call.started_at,
            ended_at=call.ended_at,
            tier=info.tier,
            mood=info.mood.current,
            intensity=info.mood.intensity,
            trend=info.mood.trend.value,
            alert=info.mood.alert.message if info.mood.alert else None,
            findings=info.findings,
            findings_text=info.findings_text,
            whispers=[f"{w.by}: {w.text}" for w in info.whispers],
            flagged_by=info.flagged_by,
            segments=(
                [
                    SegmentView(
                        seq=s.seq,
                        speaker=s.speaker,
                        text=s.text,
                        final=s.final,
                        received_at=s.received_at,
                    )
                    for s in call.segments
                ]
                if with_segments
                else None
            ),
            latest=call.latest if with_segments else None,
        )


class CallList(BaseModel):
    """Calls, newest first (live ones riskiest first)."""

    items: list[CallView]


class WrapUpDraft(BaseModel):
    """The wrap-up draft at the end of a call: the agent edits the text and saves it."""

    call_id: str
    text: str
    disposition: str
    needs: list[str]
    citations: list[str]
    actions: list[str]
    facts: CallFacts = Field(
        description="what the text states: event, requests, commitments, next steps, findings"
    )

    @classmethod
    def from_summary(cls, call_id: str, summary: CallSummary) -> WrapUpDraft:
        return cls(
            call_id=call_id,
            text=summary.text,
            disposition=summary.disposition.value,
            needs=summary.needs,
            citations=summary.citations,
            actions=summary.actions,
            facts=summary.facts,
        )


# ----- approvals (分层授权) -----------------------------------------------------------------------


class ApprovalRequestIn(_Request):
    """An agent asks to grant something on one of their calls (the agent is the token's)."""

    action: Literal["goodwill", "fast_track", "fee_waiver"] = Field(
        description="goodwill (慰问补偿/礼品), fast_track (小额快赔) or fee_waiver (费用减免)"
    )
    amount: float = Field(
        gt=0, le=MAX_AMOUNT, description=f"in 元, more than 0 and at most {MAX_AMOUNT:,.0f}"
    )
    reason: str = Field(
        min_length=1,
        max_length=MAX_REASON_CHARS,
        description="why the customer should get it (the supervisor reads it)",
        examples=["客户车辆定损延误两周，多次来电，情绪激动"],
    )


class ApprovalDecisionIn(_Request):
    """A supervisor's decision on a pending request."""

    approve: bool = Field(description="true approves, false refuses (a refusal needs a note)")
    note: str = Field(default="", max_length=MAX_REASON_CHARS, description="why")


class ApprovalList(BaseModel):
    """Approval requests, oldest first."""

    items: list[Approval]


# ----- member privileges (api/privileges.py) -----------------------------------------------------


class PrivilegeBookingIn(_Request):
    """An agent books one use of a member privilege for the customer (the agent is the
    token's)."""

    for_when: AwareDatetime | None = Field(
        default=None,
        description="when the customer wants it (with a time zone); none: now. The quota of its "
        "calendar year (centre time zone) counts it",
    )
    place: str = Field(default="", max_length=300, description="where, e.g. the pick-up address")
    notes: str = Field(default="", max_length=300, description="anything the provider should know")


# ----- self-service claim records (api/selfservice.py) -----------------------------------------


class WithdrawalDecisionIn(_Request):
    """A person's decision on a customer's pending withdrawal request (撤案申请)."""

    approve: bool = Field(description="true withdraws the claim, false refuses (needs a note)")
    note: str = Field(default="", max_length=500, description="why; the customer is told")


class WithdrawalList(BaseModel):
    """Withdrawal requests, oldest first."""

    items: list[WithdrawalRequest]
