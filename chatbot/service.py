"""The self-service chatbot: one customer message in, a grounded answer or a handoff out.

Per message: read the intent and the human triggers (rules), embed the message once for the
emotion classifier and retrieval, decide the route (pure), then either answer from the retrieved
clauses / the verified customer's records, or hand the conversation to a human with everything
the bot knows. Every answer passes the compliance guard.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from audit.log import AuditLog
from chatbot.answers import AnswerBook, grounded
from chatbot.confidence import AnswerBar, retrieval_confidence
from chatbot.flows import FlowBook, FlowContext, FlowKey, FlowState, FlowStatus, FlowStep
from chatbot.handoff import REASON_TEXT, HandoffState, MoodPoint, NewHandoff
from chatbot.identity import read_identity
from chatbot.language import is_foreign
from chatbot.learned import HandoffDetector
from chatbot.lockout import IdentityLockout, LockReason
from chatbot.models import (
    MAX_MESSAGE_CHARS,
    BotAnswer,
    Conversation,
    MoodStep,
    NewSession,
    SentFile,
)
from chatbot.queue import HandoffNotFoundError, HandoffQueue, new_handoff_id
from chatbot.records import RecordRefusedError, SelfServiceDesk
from chatbot.review import NewReview, RoutingReviewLog, review_for
from chatbot.routing import (
    MAX_BOT_FAILURES,
    RouteDecision,
    RoutingSignals,
    readable_chars,
    route,
)
from chatbot.sessions import ConversationStore
from chatbot.understanding import MessageReading, MessageRules, Reason
from conversation.intents import Intent, intent_label
from conversation.models import Speaker, Turn
from core.errors import InvalidQueryError, PolicyDeskError
from core.models import Hit, PassageKind, SearchFilters
from core.templates import fill_placeholders
from customers.models import CustomerProfile, Policy
from customers.store import CustomerStore
from customers.uploads import UploadedDocument
from prompts.guard import ComplianceGuard
from prompts.llm import LlmPhraser
from retrieval.conversation_search import ConversationSearch
from sentiment.classifier import EmotionClassifier

COMPLAINT_REASONS = {Reason.COMPLAINT, Reason.LEGAL_THREAT, Reason.DISPUTE}
# intents the bot answers from the knowledge base (and whose confidence matters)
KNOWLEDGE_INTENTS = {"clause_query", "claim_materials", "report_claim", "value_added"}
# intents answered from the verified customer's own records when the message is about them
ACCOUNT_INTENTS = {"claim_progress", "renewal_change", "claim_materials"}
# intents with an answer of their own (knowledge, the customer's records or a fixed reply)
TOPIC_INTENTS = KNOWLEDGE_INTENTS | ACCOUNT_INTENTS | {"to_human", "complaint"}


def account_lookup(intent: str, reading: MessageReading) -> bool:
    """Whether the answer comes from the customer's own records (after the identity check):
    any claim-progress question, and renewal or materials questions about their own policy or
    claim ("我的案子还缺什么材料")."""
    return intent == "claim_progress" or (intent in ACCOUNT_INTENTS and reading.account_specific)


def unknown_topic(reading: MessageReading) -> bool:
    """Whether the bot searches the knowledge base for a message whose words name no topic it
    answers (pure): intent ``other`` (or one without an answer of its own) that is neither a
    greeting, thanks or goodbye nor an injection attempt. Answered only past the stricter
    unknown-intent bar (``AnswerBar``).

    Args:
        reading: the message reading.

    Returns:
        True for such a message.
    """
    return (
        reading.intent.value not in TOPIC_INTENTS
        and not reading.injection_only
        and not reading.matched.get(Intent.OTHER.value)
    )


# routing reasons that take a customer to a person even in the middle of a guided flow (the
# others, such as a low retrieval score, mean nothing to a flow's answers)
FLOW_BREAKING = {
    Reason.INJURY_EMERGENCY,
    Reason.UPSET,
    Reason.LEGAL_THREAT,
    Reason.COMPLAINT,
    Reason.DISPUTE,
    Reason.EXPLICIT_REQUEST,
}
# what each flow is about, as the contact's matter
FLOW_INTENTS = {
    FlowKey.REPORT_CLAIM: "report_claim",
    FlowKey.FAULT_FINDING: "report_claim",
    FlowKey.ONLINE_SURVEY: "report_claim",
    FlowKey.UPLOAD_DOCUMENTS: "claim_materials",
    FlowKey.INJURY_MEDIATION: "report_claim",
    FlowKey.CLAIM_STATUS: "claim_progress",
    FlowKey.WITHDRAW_CLAIM: "report_claim",
    FlowKey.PRIVILEGE_BOOKING: "value_added",
}
# flows whose next question may be an appointment slot, and the kind of appointment
SLOT_FLOWS = {FlowKey.ONLINE_SURVEY: "survey", FlowKey.INJURY_MEDIATION: "mediation"}
OPEN_FLOW = {
    FlowStatus.STARTING,
    FlowStatus.AWAITING_IDENTITY,
    FlowStatus.ACTIVE,
    FlowStatus.AWAITING_CONFIRM,
    FlowStatus.PAUSED,
}
REPORT_WINDOW = timedelta(days=30)
"""How late an accident may be reported through the chatbot."""
FILES_ONLY = "（发送了{n}个文件）"
"""What the transcript shows for a message that only carries files."""
ECHO = re.compile(r"- |\d{1,2}\. ")
"""How the lines of a flow's reply start that read back the customer's answers ("- 出险时间：…")
or list the choices from their records and the flow's data ("1. 12月8日 08:00")."""

# the order in which reasons pick the agent's opener: most urgent first
URGENCY = [
    "injury_emergency",
    "upset",
    "legal_threat",
    "complaint",
    "dispute",
    "needs_decision",
    "identity_locked",
    "explicit_request",
    "low_confidence",
    "bot_failed",
    "foreign_language",
]


@dataclass
class Outbox:
    """What answering one message decided to store besides the conversation: handoffs and
    routing decisions for review, written in the conversation's transaction."""

    handoffs: list[tuple[str, NewHandoff]] = field(default_factory=list)
    reviews: list[NewReview] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    """The upload ids the message carries."""


UNKNOWN_CLIENT = "unknown"
SURVEY_SCORE = re.compile(r"(\d{1,2})\s*分?[。.!！]?")
"""A survey answer: a number, perhaps with 分."""
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
logger = logging.getLogger(__name__)
RATE_WINDOW = timedelta(minutes=1)
"""The rate limit counts a conversation's messages in this window."""


class FileRefusedError(PolicyDeskError):
    """One of the files a customer sent was not accepted; no message was sent."""

    def __init__(self, filename: str, cause: PolicyDeskError) -> None:
        super().__init__(str(cause))
        self.filename = filename
        """The refused file's name, as the customer picked it."""


class RateLimitedError(PolicyDeskError):
    """Too many messages on one conversation in a short time."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds until the oldest message in the window leaves it."""


class ChatbotService:
    """Answers customer messages and hands conversations over to humans."""

    def __init__(
        self,
        conversations: ConversationStore,
        rules: MessageRules,
        conversation_search: ConversationSearch,
        embed: Callable[[str], np.ndarray],
        emotion: EmotionClassifier,
        guard: ComplianceGuard,
        answers: AnswerBook,
        unknown_intent: AnswerBar,
        customers: CustomerStore,
        queue: HandoffQueue,
        reviews: RoutingReviewLog | None = None,
        detector: HandoffDetector | None = None,
        phraser: LlmPhraser | None = None,
        rate_limit: int = 30,
        min_confidence: float = 0.35,
        lockout: IdentityLockout | None = None,
        audit: AuditLog | None = None,
        on_answered: Callable[[Conversation, BotAnswer], object] | None = None,
        flows: FlowBook | None = None,
        desk: SelfServiceDesk | None = None,
        zone: str = "Asia/Shanghai",
    ) -> None:
        self._conversations = conversations
        self._rules = rules
        self._conversation_search = conversation_search
        self._embed = embed
        self._emotion = emotion
        self._guard = guard
        self.answers = answers
        self._unknown_intent = unknown_intent
        self._customers = customers
        self._queue = queue
        self._reviews = reviews
        self._detector = detector
        self._phraser = phraser
        self._rate_limit = rate_limit
        self._min_confidence = min_confidence
        self._knowledge_bar = AnswerBar(min_confidence=min_confidence)
        self._lockout = lockout
        self._audit = audit
        self._on_answered = on_answered
        # a flow's summary echoes the customer's own answers ("- 事故经过：被后车追尾了"): the
        # learned judge, trained on agent replies, reads such lines as coaching or privacy risks,
        # so they are checked against the written rules alone
        self._echo_guard = guard.with_judge(None)
        self._flows = flows if desk is not None else None
        self._desk = desk
        self._zone = zone

    # ----- public API -------------------------------------------------------------------------

    def start(self, channel: str = "chat", reminder: list[str] | None = None) -> NewSession:
        """A new conversation (stored) and its secret: the customer's client proves with it that
        the conversation is theirs (only its hash is stored).

        Args:
            channel: where the customer writes from.
            reminder: the kinds of the 车主秘书 reminder the customer replies to ("续保" after a
                renewal reminder is answered in its context).
        """
        conversation, secret = self._conversations.create(channel)
        if reminder:
            conversation.reminder = list(reminder)
            self._conversations.save(conversation, 1)
        return NewSession(id=conversation.id, secret=secret, channel=conversation.channel)

    def owns(self, conversation_id: str, secret: str) -> bool:
        """True when ``secret`` is the conversation's (constant-time; False for an unknown id)."""
        return self._conversations.check_secret(conversation_id, secret)

    def conversation(self, conversation_id: str) -> Conversation:
        """A stored conversation.

        Raises:
            ConversationNotFoundError: unknown id.
        """
        return self._conversations.load(conversation_id)[0]

    def post(
        self,
        conversation_id: str,
        text: str,
        now: datetime | None = None,
        client: str = UNKNOWN_CLIENT,
        attachments: list[str] | None = None,
    ) -> BotAnswer:
        """Answer one customer message in a stored conversation.

        Args:
            conversation_id: the conversation.
            text: the customer's message (may be empty when it carries files).
            now: the time (tests pin it).
            client: who is sending (an address or an API key's name), for the identity lockout.
            attachments: the ids of files sent in this conversation (``receive``) that come
                with the message, e.g. the accident photos a report asks for.

        Raises:
            ConversationNotFoundError: unknown conversation.
            InvalidQueryError: an empty or over-long message, or an attachment that is not one
                of this conversation's files (nothing is stored).
            RateLimitedError: too many messages in the last minute (nothing is stored).
            ConversationBusyError: another message on this conversation was saved meanwhile.
        """
        conversation, version = self._conversations.load(conversation_id)
        files: list[str] = []
        if attachments:
            if self._desk is None:
                raise InvalidQueryError("this chatbot takes no files")
            files = self._desk.attachments(conversation_id, attachments)
        if files and not text.strip():
            text = FILES_ONLY.format(n=len(files))
        outbox = Outbox(files=files)
        answer = self._respond(conversation, text, now or datetime.now(UTC), outbox, client)
        # the conversation, its handoff and its review entry commit together: a message that
        # loses a race on this conversation (ConversationBusyError) leaves nothing orphaned
        with self._conversations.transaction() as conn:
            self._conversations.save(conversation, version, connection=conn)
            for handoff_id, new in outbox.handoffs:
                self._queue.submit(new, handoff_id=handoff_id, connection=conn)
            if self._reviews is not None:
                for review in outbox.reviews:
                    self._reviews.record(review, connection=conn)
        if self._on_answered is not None:
            try:
                self._on_answered(conversation, answer)
            except Exception:  # the answer stands; quality's record of it is logged and skipped
                logger.exception("conversation %s answered but not recorded", conversation.id)
        return answer

    def receive(
        self,
        conversation_id: str,
        data: bytes,
        filename: str,
        declared_type: str | None = None,
        claim_no: str | None = None,
    ) -> UploadedDocument:
        """Store a photo or document the customer sends in the conversation; its id then goes
        with a message (``post(..., attachments=[id])``).

        Raises:
            ConversationNotFoundError: unknown conversation.
            InvalidQueryError: this chatbot takes no files.
            UploadRejectedError: the file is not accepted (the message says why).
            UploadLinkError: ``claim_no`` is not the verified customer's claim.
        """
        if self._desk is None:
            raise InvalidQueryError("this chatbot takes no files")
        conversation = self._conversations.load(conversation_id)[0]
        return self._desk.receive(conversation, data, filename, declared_type, claim_no)

    def send_files(
        self,
        conversation_id: str,
        files: Sequence[SentFile],
        text: str = "",
        claim_no: str | None = None,
        client: str = UNKNOWN_CLIENT,
    ) -> BotAnswer:
        """Store each file in the conversation (``receive``), then post one message that carries
        them all (the accident photos a report asks for arrive together).

        Raises:
            FileRefusedError: a file was not accepted (its name and why); nothing is posted.
                Files stored before it stay in the conversation, carried by no message and
                linked to nothing; the customer sends them again with the corrected set.
            PolicyDeskError: the message was not sent (e.g. too many messages in a minute).
        """
        if not files:
            raise InvalidQueryError("no file to send")
        ids: list[str] = []
        for file in files:
            try:
                stored = self.receive(
                    conversation_id, file.data, file.name, file.content_type, claim_no
                )
            except PolicyDeskError as exc:
                raise FileRefusedError(file.name, exc) from exc
            ids.append(stored.id)
        return self.post(conversation_id, text, client=client, attachments=ids)

    def answer_once(self, text: str) -> BotAnswer:
        """A one-message conversation by an anonymous customer, kept in memory only.

        Used by ``policydesk chat`` and the routing benchmark: no conversation row and no
        handoff is written.
        """
        conversation = Conversation(id="once", created_at=datetime.now(UTC))
        return self._respond(conversation, text, datetime.now(UTC), None, UNKNOWN_CLIENT)

    def knowledge_hits(self, text: str) -> list[Hit]:
        """The passages the bot would answer an anonymous customer's message from, best first,
        whether or not they clear a bar (for choosing the bars on labelled messages).

        Args:
            text: the customer's message.

        Returns:
            The retrieved clauses and FAQs (misspellings corrected as for an answer).

        Raises:
            InvalidQueryError: an empty or over-long message.
        """
        conversation = Conversation(id="once", created_at=datetime.now(UTC))
        cleaned = self._check(conversation, text, datetime.now(UTC))
        return self._retrieve(conversation, cleaned, self._embed(cleaned))

    # ----- one message ------------------------------------------------------------------------

    def _check(self, conversation: Conversation, text: str, now: datetime) -> str:
        cleaned = " ".join(text.split())
        if not cleaned:
            raise InvalidQueryError("the message is empty")
        if len(cleaned) > MAX_MESSAGE_CHARS:
            raise InvalidQueryError(
                f"the message is {len(cleaned)} characters; the limit is {MAX_MESSAGE_CHARS}"
            )
        recent = [t for t in conversation.recent if t > now - RATE_WINDOW]
        if len(recent) >= self._rate_limit:
            wait = (min(recent) + RATE_WINDOW - now).total_seconds()
            raise RateLimitedError(
                f"more than {self._rate_limit} messages in a minute on this conversation; "
                "wait a moment and send again",
                retry_after=max(1, math.ceil(wait)),
            )
        conversation.recent = [*recent, now]
        return cleaned

    def _respond(
        self,
        conversation: Conversation,
        text: str,
        now: datetime,
        outbox: Outbox | None,
        client: str,
    ) -> BotAnswer:
        cleaned = self._check(conversation, text, now)
        history = conversation.customer_texts()
        conversation.turns.append(Turn(speaker=Speaker.CUSTOMER, text=cleaned, at=now))

        if conversation.handoff_id is not None:
            state = self._handoff_state(conversation.handoff_id)
            if state is HandoffState.RESOLVED:  # the agent closed it: the bot takes over again
                conversation.handoff_id = None
                conversation.bot_failures = 0
            else:  # with a person: the message is theirs to read (chatbot.replies)
                waiting = state is HandoffState.WAITING
                return self._say(
                    conversation,
                    cleaned,
                    self.answers.handoff_waiting if waiting else self.answers.handoff_accepted,
                    route="human",
                    intent=conversation.intents[-1] if conversation.intents else "to_human",
                    handoff_id=conversation.handoff_id,
                )

        if conversation.survey_stage is not None:
            surveyed = self._survey(conversation, cleaned)
            if surveyed is not None:
                return surveyed

        vector = self._embed(cleaned)
        emotion = self._emotion.classify(cleaned, vector=vector)
        conversation.upset_turns = conversation.upset_turns + 1 if emotion.upset else 0
        conversation.moods.append(
            MoodStep(label=emotion.label, intensity=emotion.intensity, upset=emotion.upset)
        )
        reading = self._rules.read(cleaned, history)
        foreign = is_foreign(cleaned)
        learned = self._detector.score(cleaned, vector) if self._detector is not None else None

        identity = read_identity(cleaned)
        if identity is not None and conversation.pending_intent is not None:
            return self._verify(
                conversation, cleaned, reading, identity.number, identity.last4, outbox, client, now
            )

        intent = reading.intent.value
        conversation.intents.append(intent)
        hits: list[Hit] = []
        confidence: float | None = None
        if (
            intent in KNOWLEDGE_INTENTS
            and not reading.injection_only
            and not account_lookup(intent, reading)
        ):
            hits = self._retrieve(conversation, cleaned, vector)
            confidence = retrieval_confidence(hits)
            conversation.references.extend(h for h in hits[:2] if h not in conversation.references)

        decision = route(
            RoutingSignals(
                reading=reading,
                upset=emotion.upset,
                intensity=emotion.intensity,
                upset_turns=conversation.upset_turns,
                escalation_cue=emotion.escalation,
                retrieval_confidence=confidence,
                bot_failures=conversation.bot_failures,
                readable_chars=readable_chars(cleaned),
                foreign_language=foreign,
                min_confidence=self._min_confidence,
                learned_above=learned is not None and learned.above_threshold,
                learned_reasons=learned.reasons if learned is not None else [],
                learned_p=learned.p_human if learned is not None else None,
                rule_veto=self._detector.manifest.rule_veto if self._detector is not None else 0.0,
            )
        )
        if (
            decision.route == "human"
            and intent != "complaint"
            and COMPLAINT_REASONS & set(decision.reasons)
        ):
            intent = "complaint"  # a grievance, threat or dispute is a complaint (ROUTING.md)
            conversation.intents[-1] = intent
        # upset breaks a flow when the words show it: the classifier alone misreads short answers
        # ("昨天下午三点") as dissatisfied
        shown = set(reading.triggers) | (
            {Reason.UPSET} if emotion.upset and emotion.matches else set()
        )
        flowed = self._in_flow(conversation, cleaned, intent, shown, decision, outbox, now)
        if flowed is not None:
            answer = flowed
        elif decision.route == "human":
            answer = self._hand_over(conversation, cleaned, intent, decision, outbox)
        else:
            answer = self._answer(conversation, cleaned, reading, hits, vector)
            answer = answer.model_copy(update={"reasons": [r.value for r in decision.reasons]})
        review = review_for(
            conversation.id,
            cleaned,
            answer.intent,
            decision,
            learned.p_human if learned is not None else None,
            answer.handoff_id,
        )
        if review is not None and outbox is not None:
            outbox.reviews.append(review)
        return answer

    def _answer(
        self,
        conversation: Conversation,
        text: str,
        reading: MessageReading,
        hits: list[Hit],
        vector: np.ndarray,
    ) -> BotAnswer:
        intent = reading.intent.value
        book = self.answers
        if reading.injection_only:
            return self._say(conversation, text, book.injection, intent="other")
        in_context = book.reminder_reply(conversation.reminder, text)
        if in_context is not None and conversation.customer_id is None:
            kind, reply = in_context
            if reply.identity:  # then the policy itself, as for any renewal question
                conversation.pending_intent = "renewal_change" if kind == "renewal" else intent
            return self._say(conversation, text, reply.reply, intent, ask=reply.identity)
        if account_lookup(intent, reading):
            if conversation.customer_id is None:
                conversation.pending_intent = intent
                return self._say(conversation, text, book.identity_prompt, intent=intent, ask=True)
            return self._account_answer(conversation, text, intent)
        if intent in KNOWLEDGE_INTENTS:
            template = {
                "report_claim": book.report_claim,
                "value_added": book.value_added,
            }.get(intent, book.knowledge)
            return self._from_knowledge(conversation, text, intent, hits, template)
        if intent == "renewal_change":
            return self._knowledge_fallback(conversation, text, intent, vector, self._knowledge_bar)
        if intent == "to_human":
            return self._say(conversation, text, book.to_human_info, intent=intent)
        if intent == "complaint":
            return self._say(conversation, text, book.complaint_channel, intent=intent)
        if unknown_topic(reading):
            # the knowledge base may cover it all the same ("新能源车的充电桩能保吗"); the bar is
            # stricter than a known topic's (chit-chat must never get a clause); below it the bot
            # says it found nothing and offers a person, a bot failure like any unanswered message
            return self._knowledge_fallback(
                conversation, text, intent, vector, self._unknown_intent
            )
        closing = reading.matched.get(Intent.OTHER.value, [])  # a greeting, thanks or goodbye
        greeting = not any(w in "".join(closing) for w in ("谢", "再见", "拜"))
        if greeting:
            return self._say(conversation, text, book.greeting, intent)
        if conversation.answers and conversation.csat is None and conversation.nps is None:
            # thanks after an answer: the conversation is resolved; ask the survey once
            conversation.survey_stage = "csat"
            return self._say(conversation, text, f"{book.thanks}{book.survey_csat}", intent)
        return self._say(conversation, text, book.thanks, intent)

    def _survey(self, conversation: Conversation, text: str) -> BotAnswer | None:
        """The customer's answer to the survey question asked last, or None when the message
        is not one (the survey is dropped and the message answered as usual)."""
        stage = conversation.survey_stage
        conversation.survey_stage = None
        found = SURVEY_SCORE.fullmatch(text.translate(FULL_WIDTH_DIGITS).strip())
        score = int(found.group(1)) if found else None
        if stage == "csat" and score is not None and 1 <= score <= 5:
            conversation.csat = score
            conversation.survey_stage = "nps"
            return self._say(conversation, text, self.answers.survey_nps, "other")
        if stage == "nps" and score is not None and 0 <= score <= 10:
            conversation.nps = score
            return self._say(conversation, text, self.answers.survey_thanks, "other")
        return None

    def _knowledge_fallback(
        self,
        conversation: Conversation,
        text: str,
        intent: str,
        vector: np.ndarray,
        bar: AnswerBar,
    ) -> BotAnswer:
        """A knowledge answer for a message routing did not search for: retrieved now, and
        answered only when the hits clear ``bar``."""
        hits = self._retrieve(conversation, text, vector)
        if not bar.clears(hits):
            hits = []
        return self._from_knowledge(conversation, text, intent, hits, self.answers.knowledge)

    def _from_knowledge(
        self, conversation: Conversation, text: str, intent: str, hits: list[Hit], template: str
    ) -> BotAnswer:
        """An extractive answer from the hits, or plainly "no answer" (a bot failure)."""
        if not hits:
            conversation.bot_failures += 1
            return self._say(conversation, text, self.answers.no_answer, intent=intent)
        body, citations = grounded(template, hits, self._values(conversation))
        conversation.bot_failures = 0
        return self._say(conversation, text, body, intent=intent, citations=citations, hits=hits)

    def _verify(
        self,
        conversation: Conversation,
        text: str,
        reading: MessageReading,
        number: str,
        last4: str,
        outbox: Outbox | None,
        client: str,
        now: datetime | None = None,
    ) -> BotAnswer:
        intent = conversation.pending_intent or reading.intent.value
        conversation.intents.append(intent)
        reservation = None
        if self._lockout is None:
            reason = None
        elif outbox is not None:  # a real conversation: the check is counted before it is tried
            reason, reservation = self._lockout.reserve(number, client, conversation.id)
        else:
            reason = self._lockout.locked(number, client)
        if reason is not None:
            # repeated failures for this number (any session) or from this client: the check
            # is not even tried, right answer or not; a person verifies instead
            self._audit_lock(conversation, number, client, reason)
            conversation.pending_intent = None
            decision = RouteDecision(route="human", reasons=[Reason.IDENTITY_LOCKED])
            return self._hand_over(conversation, text, intent, decision, outbox)
        customer_id = self._customers.verify(number, last4)
        if customer_id is not None and reservation is not None:
            self._lockout.passed(reservation)  # type: ignore[union-attr]
        if customer_id is None:  # the reservation stays: a failure counted
            conversation.identity_failures += 1
            conversation.bot_failures += 1
            if conversation.bot_failures >= MAX_BOT_FAILURES:  # a person verifies instead
                conversation.pending_intent = None
                decision = RouteDecision(route="human", reasons=[Reason.BOT_FAILED])
                return self._hand_over(conversation, text, intent, decision, outbox)
            # a failed check reveals nothing: not which part was wrong, not whether it exists
            return self._say(conversation, text, self.answers.identity_failed, intent, ask=True)
        conversation.customer_id = customer_id
        conversation.pending_intent = None
        conversation.identity_failures = 0
        flow = conversation.flow
        if (
            flow is not None
            and flow.status is FlowStatus.AWAITING_IDENTITY
            and self._flows is not None
            and outbox is not None
        ):  # verified for a flow: its first question
            context = self._flow_context(conversation, flow, now, outbox.files)
            step = self._flows.advance(flow, "", context)
            return self._flow_answer(conversation, text, intent, step, outbox, now)
        return self._account_answer(conversation, text, intent)

    def _audit_lock(
        self, conversation: Conversation, number: str, client: str, reason: LockReason
    ) -> None:
        """Audit a check refused by the lockout."""
        if self._audit is not None and self._lockout is not None:
            # never the number itself: the lockout's HMAC of it identifies it for an inquiry
            self._audit.record(
                "chatbot",
                "identity.locked",
                conversation.id,
                f"by {reason.value}; subject {self._lockout.subject(number)[:16]}; client {client}",
            )

    def _account_answer(self, conversation: Conversation, text: str, intent: str) -> BotAnswer:
        assert conversation.customer_id is not None
        profile = self._customers.profile(conversation.customer_id)
        values = self._values(conversation, profile)
        book = self.answers
        if intent in ("claim_progress", "claim_materials"):
            if not profile.claims:
                body = fill_placeholders(book.claim_none, values)
            else:
                latest = max(profile.claims, key=lambda c: c.reported_at)
                stage_note = book.stages.get(latest.stage, "")
                template = (
                    book.claim_status if intent == "claim_progress" else book.claim_materials_status
                )
                body = fill_placeholders(template, values | {"进度说明": stage_note})
        else:
            body = fill_placeholders(book.policy_status, values)
        conversation.bot_failures = 0
        return self._say(conversation, text, body, intent=intent)

    def _hand_over(
        self,
        conversation: Conversation,
        text: str,
        intent: str,
        decision: RouteDecision,
        outbox: Outbox | None,
        gathered: str = "",
        said: str | None = None,
    ) -> BotAnswer:
        """Hand the conversation to a person (queued with ``outbox``).

        Args:
            gathered: what a guided flow gathered so far, for the agent.
            said: what to tell the customer instead of the usual handoff message (a flow's
                own, which says why).
        """
        reasons = sorted(
            (r.value for r in decision.reasons),
            key=lambda r: URGENCY.index(r) if r in URGENCY else len(URGENCY),
        )
        profile = self._profile(conversation)
        values = self._values(conversation, profile)
        why = "、".join(REASON_TEXT.get(r, r) for r in reasons[:2])
        parts = []
        if decision.safety_first:
            parts.append(self.answers.safety)
        parts.append(said or fill_placeholders(self.answers.handoff, values | {"原因": why}))
        if Reason.FOREIGN_LANGUAGE in decision.reasons:  # said in the customer's language too
            parts.append(self.answers.foreign_language)
        reply = "".join(parts)
        handoff_id: str | None = None
        if outbox is not None:
            opener, _ = self._guard.sanitize(
                fill_placeholders(self.answers.opener(reasons), values)
            )
            transcript = [*conversation.turns]
            handoff_id = new_handoff_id()
            outbox.handoffs.append(
                (
                    handoff_id,
                    NewHandoff(
                        session_id=conversation.id,
                        customer=profile,
                        transcript=transcript,
                        intent=intent,
                        intent_label=intent_label(intent),
                        mood=[
                            MoodPoint(turn=i, label=m.label, intensity=m.intensity, upset=m.upset)
                            for i, m in enumerate(conversation.moods)
                        ],
                        references=conversation.references,
                        bot_answers=conversation.answers,
                        reasons=reasons,
                        reason_text=[REASON_TEXT.get(r, r) for r in reasons],
                        suggested_reply=opener,
                        learned_only=decision.learned_only,
                        gathered=gathered,
                    ),
                )
            )
            conversation.handoff_id = handoff_id
        return self._say(
            conversation,
            text,
            reply,
            route="human",
            intent=intent,
            reasons=reasons,
            handoff_id=handoff_id,
        )

    # ----- guided flows (一键报案, 在线查勘…) -----------------------------------------------------

    def _in_flow(
        self,
        conversation: Conversation,
        text: str,
        intent: str,
        shown: set[Reason],
        decision: RouteDecision,
        outbox: Outbox | None,
        now: datetime,
    ) -> BotAnswer | None:
        """The answer of the guided flow the message continues or starts, or None when no flow
        takes it (the message is answered as usual).

        Routing still decides first: an injury, a complaint, a legal threat, an upset customer
        or a request for a person that the customer's words show (``shown``: the rules' triggers,
        upset with its cue words) hands the customer over with what the flow gathered (talk of
        injuries is what 人伤调解 is about). The learned detector's guesses do not break a flow:
        the flow asks about injuries and disputes itself. Flows run only in stored conversations: a
        one-message conversation (``answer_once``) could never finish one.
        """
        if self._flows is None or outbox is None:
            return None
        current = conversation.flow
        state = current if current is not None and current.status in OPEN_FLOW else None
        flows = self._flows
        started = None
        if state is None or state.status is FlowStatus.PAUSED:
            # only the time stamps a new flow: no profile or slots are read for a message that
            # starts none (most messages)
            started = flows.start_flow(text, FlowContext(now=now, timezone=self._zone))
            if started is not None and state is not None and started.flow is state.flow:
                started = None  # its own trigger resumes the paused flow
            if started is not None and _breaks(started, shown):
                started = None  # a complaint about the adjuster is not a booking, overruled or not
        candidate = started or state
        if candidate is None:
            return None
        if decision.route == "human" and _breaks(candidate, shown & set(decision.reasons)):
            if state is None or state.status is FlowStatus.PAUSED:
                return None  # no flow under way: the usual handoff
            conversation.flow = state.model_copy(update={"status": FlowStatus.HANDED_OVER})
            return self._hand_over(
                conversation, text, intent, decision, outbox, gathered=flows.gathered(state)
            )
        context = self._flow_context(conversation, candidate, now, outbox.files)
        step = flows.advance(candidate, text, context)
        if not step.consumed:
            conversation.flow = step.state
            return None
        # the message is about the flow's matter, whatever its words alone read as ("时间说错了"
        # is a correction, not a complaint)
        intent = FLOW_INTENTS[candidate.flow]
        conversation.intents[-1] = intent
        return self._flow_answer(conversation, text, intent, step, outbox, now)

    def _flow_context(
        self,
        conversation: Conversation,
        state: FlowState,
        now: datetime | None,
        files: list[str] | None = None,
    ) -> FlowContext:
        """What a flow knows at this message: the verified customer's claims and policies, the
        files it carries, and the slots offered when the flow books an appointment."""
        when = now or datetime.now(UTC)
        profile = self._profile(conversation)
        kind = SLOT_FLOWS.get(state.flow)
        offered = (
            self._desk.offered_slots(kind, when)
            if kind is not None and self._desk is not None and profile is not None
            else []
        )
        return FlowContext(
            now=when,
            timezone=self._zone,
            customer_id=conversation.customer_id,
            claim_numbers=[c.claim_no for c in profile.claims] if profile is not None else [],
            policies=_current_policies(profile, when, self._zone) if profile is not None else [],
            attachments=files or [],
            offered_slots=offered,
        )

    def _flow_answer(
        self,
        conversation: Conversation,
        text: str,
        intent: str,
        step: FlowStep,
        outbox: Outbox,
        now: datetime | None = None,
    ) -> BotAnswer:
        """Say what the flow's step says, and do what it asks: a handoff with what it gathered,
        the identity check, the record it ends in, the claim it looks up."""
        flows, desk = self._flows, self._desk
        assert flows is not None and desk is not None
        conversation.flow = step.state
        if step.handoff is not None:
            decision = RouteDecision(route="human", reasons=[step.handoff.reason.routing_reason()])
            return self._hand_over(
                conversation,
                text,
                intent,
                decision,
                outbox,
                gathered=step.handoff.summary,
                said=step.reply,
            )
        if step.needs_identity:
            conversation.pending_intent = intent
            return self._say(conversation, text, step.reply, intent, ask=True, echoes=True)
        record = None
        reply = step.reply
        if step.record is not None:
            try:
                record = desk.write(step.record, conversation, now or datetime.now(UTC))
            except RecordRefusedError as exc:  # not in their tier, or no use left this year
                conversation.bot_failures = 0
                refused = fill_placeholders(self.answers.privilege_refused, {"原因": str(exc)})
                return self._say(conversation, text, refused, intent)
            except PolicyDeskError as exc:  # refused by the records (a slot just taken…)
                logger.info("flow %s record refused: %s", step.state.flow.value, exc)
                conversation.flow = step.state.model_copy(update={"status": FlowStatus.HANDED_OVER})
                decision = RouteDecision(route="human", reasons=[Reason.NEEDS_DECISION])
                return self._hand_over(
                    conversation,
                    text,
                    intent,
                    decision,
                    outbox,
                    gathered=f"{flows.gathered(step.state)}\n提交未成功：{exc}",
                )
            if record.type.value == "claim_report":
                reply = f"{reply}\n- 案件号：{record.id}"
        if step.lookup is not None:
            found = desk.claim_stage(step.lookup.customer_id, step.lookup.claim_no)
            if found is not None:
                values = self._values(conversation) | {
                    "案件号": found[0],
                    "案件阶段": found[1],
                    "进度说明": self.answers.stages.get(found[1], ""),
                }
                reply = fill_placeholders(self.answers.claim_status, values)
        conversation.bot_failures = 0
        answer = self._say(conversation, text, reply, intent, echoes=True)
        return answer.model_copy(update={"record": record}) if record is not None else answer

    # ----- helpers ----------------------------------------------------------------------------

    def _retrieve(self, conversation: Conversation, text: str, vector: np.ndarray) -> list[Hit]:
        """The top clauses and FAQs for a message in its conversation: the conversation's topic
        state follows each message, so a follow-up ("那这个能赔吗？") is searched with what was
        said before (the console's one implementation). Known misspellings and pinyin are
        corrected first (``MessageRules.corrected``); the corrected words are embedded only then.
        """
        query = self._rules.corrected(text)
        query_vector = vector if query == text else self._embed(query)
        search = self._conversation_search
        conversation.topic = search.update(conversation.topic, query, len(conversation.turns))
        cards = search.cards(
            conversation.topic, query, query_vector, as_of=self._filters(conversation).as_of
        )
        return cards.answers(3)

    def _handoff_state(self, handoff_id: str) -> HandoffState:
        """The conversation's handoff state; a handoff no longer in the queue counts as closed."""
        try:
            return self._queue.get(handoff_id).state
        except HandoffNotFoundError:
            return HandoffState.RESOLVED

    def _filters(self, conversation: Conversation) -> SearchFilters:
        """Clauses and FAQs; for a verified customer, the clause editions of their policy."""
        profile = self._profile(conversation)
        as_of = profile.clause_date(date.today()) if profile is not None else None
        return SearchFilters(kinds=[PassageKind.CLAUSE, PassageKind.FAQ], as_of=as_of)

    def _profile(self, conversation: Conversation) -> CustomerProfile | None:
        if conversation.customer_id is None:
            return None
        return self._customers.profile(conversation.customer_id)

    def _values(
        self, conversation: Conversation, profile: CustomerProfile | None = None
    ) -> dict[str, str]:
        profile = profile or self._profile(conversation)
        if profile is None:  # unverified: templates read "{客户称呼}您好" → "您好"
            return {"客户称呼": ""}
        values = profile.placeholders()
        if profile.policies:
            values["到期日"] = f"{profile.policies[0].end:%Y年%m月%d日}"
        return values

    def _say(
        self,
        conversation: Conversation,
        text: str,
        body: str,
        intent: str,
        route: str = "bot",
        citations: list[str] | None = None,
        reasons: list[str] | None = None,
        handoff_id: str | None = None,
        hits: list[Hit] | None = None,
        ask: bool = False,
        echoes: bool = False,
    ) -> BotAnswer:
        source = "template"
        if hits and self._phraser is not None:
            phrased = self._phraser.phrase_reply(
                text, body, [f"{h.citation}：{h.text}" for h in hits[:2]]
            )
            body, source = phrased.text, phrased.source
        if echoes:
            cleaned = "\n".join(
                (self._echo_guard if ECHO.match(line) else self._guard).sanitize(line)[0]
                for line in body.split("\n")
            )
        else:
            cleaned, _ = self._guard.sanitize(body)
        conversation.answers.append(cleaned)
        conversation.turns.append(Turn(speaker=Speaker.BOT, text=cleaned, at=datetime.now(UTC)))
        return BotAnswer(
            session_id=conversation.id,
            text=text,
            route="human" if route == "human" else "bot",
            intent=intent,
            answer=cleaned,
            citations=citations or [],
            reasons=reasons or [],
            handoff_id=handoff_id,
            needs_identity=ask,
            verified=conversation.customer_id is not None,
            source=source,
        )


def _current_policies(profile: CustomerProfile, now: datetime, zone: str) -> list[Policy]:
    """The policies a flow may name (one per vehicle, the latest): in force now, or ended within
    the 30 days an accident may be reported late."""
    today = now.astimezone(ZoneInfo(zone)).date()
    recent = [p for p in profile.policies if p.start <= today and p.end >= today - REPORT_WINDOW]
    latest: dict[str, Policy] = {}
    for policy in sorted(recent, key=lambda p: p.start):
        latest[policy.plate] = policy
    return list(latest.values())


def _breaks(state: FlowState, shown: set[Reason]) -> bool:
    """Whether reasons the customer's words show take them out of this flow to a person (talk
    of injuries is what 人伤调解 is about)."""
    breaking = shown & FLOW_BREAKING
    if state.flow is FlowKey.INJURY_MEDIATION:
        breaking.discard(Reason.INJURY_EMERGENCY)
    return bool(breaking)
