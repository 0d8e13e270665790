"""The demo's contact history: 90 days of fictional calls, chats, handoffs, surveys and QA
results for the demo customers and a few fictional agents, so the dashboards show something real
on a fresh machine (``policydesk demo history``, run by ``make setup``).

Each scenario of ``data/demo/history`` runs **once** through the live services (a call through
``CallService`` and the assist pipeline, a chat through ``ChatbotService``); those runs are the
templates. A plan (``plan_history``, deterministic from the seed and ``today``) then says who
handled which template for which customer and when, and each planned contact is recorded through
the same stores live traffic uses: a new call through ``CallStore`` with the template's segments
and assist views at the contact's times, ended, then ``QualityService.call_ended`` and
``wrap_up_saved`` (and ``record_survey``); a chat through ``ConversationStore`` and
``QualityService.chat_answered``. ``history_contacts`` turns the same plan into contact records
without storing calls or conversations (the benchmark's 90 days x 50 agents).

Every generated id starts with ``demo-``: a replace removes exactly those.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import and_

from calls.models import Call, CallInfo, CallState, Channel, NewCall, NewSegment
from calls.store import CallStore
from chatbot.models import Conversation
from conversation.models import Speaker
from core.errors import PolicyDeskError
from core.settings import PROJECT_ROOT
from customers.demo import CHINA, GIVEN, SURNAMES, generate
from db.schema import contacts_table
from quality.models import ContactKind, ContactRecord, ContactTurn, Survey
from quality.service import with_wrap_up
from quality.store import mark_repeats
from studio.feedback import NewFeedback

if TYPE_CHECKING:
    from chatbot.service import ChatbotService
    from services.root import Services

HISTORY_DIR = PROJECT_ROOT / "data" / "demo" / "history"
DEMO_PREFIX = "demo-"
"""Every generated call, conversation and contact id starts with this."""
TEMPLATE_PREFIX = "demo-template-"
"""The scenario runs' ids (removed once the templates are read)."""
DEMO_AGENT = "agent01"
"""The demo agent account ``policydesk user seed-demo`` adds (``cli.studio.DEMO_ACCOUNTS``): it
takes the scenario runs (a live call needs an agent account) and is one of the history's agents."""
DEMO_AGENT_NAME = "王小青"
TEAMS = ("一组", "二组", "三组")
NAMED_AGENTS = (
    ("agent_wang", "王磊"),
    ("agent_li", "李娜"),
    ("agent_zhang", "张伟"),
    ("agent_liu", "刘洋"),
    ("agent_chen", "陈静"),
    ("agent_yang", "杨帆"),
    ("agent_zhou", "周晨"),
)
GOOD = frozenset({"exemplary", "good"})
"""Quality tags of scenarios a skilled agent tends to get."""
CALL_SURVEY_SHARE = 0.3
CHAT_SURVEY_SHARE = 0.6
FOLLOW_UP_SHARE = 0.12
"""How often a contact is the customer coming back on a recent matter."""
ANONYMOUS_SHARE = 0.05
VOTE_SHARE = 25
"""Percent of calls on which the agent votes on a card."""
VOTE_CHANNEL = "demo"
"""The generated votes' channel: a replace removes exactly those."""
HELPFUL_SHARE = 0.75
"""The share of those votes that say helpful."""
TEMPLATE_WORKERS = 4
"""Scenario runs in flight at once."""
OPENS, CLOSES = clock(8, 30), clock(19, 30)
"""Contacts start in these China-time hours (the same UTC day: the dashboard's day)."""


class CallScenario(BaseModel):
    """One scripted agent call of ``calls.yaml``."""

    id: str = Field(min_length=1, max_length=40)
    matter: str
    quality: str
    disposition: str
    weight: float = Field(gt=0)
    turns: list[dict[Literal["agent", "customer"], str]] = Field(min_length=2)


class ChatScenario(BaseModel):
    """One self-service chat of ``chats.yaml``: the customer's messages only."""

    id: str = Field(min_length=1, max_length=26)
    ends: Literal["handoff", "thanks"]
    weight: float = Field(gt=0)
    messages: list[str] = Field(min_length=1)


class HistoryTemplate(BaseModel):
    """A scenario as it ran once through the live services: what every copy reuses."""

    scenario: str
    kind: ContactKind
    quality: str = Field(description="the scenario's quality tag ('bot' for a chat)")
    weight: float
    disposition: str = Field(default="", description="what the agent saved (calls)")
    suggested: str = Field(default="", description="what the wrap-up draft proposed (calls)")
    handoff_reason: str = Field(default="", description="why the bot handed over (chats)")
    survey_turns: int = Field(
        default=0, ge=0, description="the chat's closing turns that are the survey exchange"
    )
    contact: ContactRecord = Field(description="the run's contact, scored")
    unsurveyed: ContactRecord | None = Field(
        default=None, description="a chat's contact before its survey exchange, scored"
    )
    call: Call | None = None
    conversation: Conversation | None = None


class StaffMember(BaseModel):
    """A fictional agent of the history: the staff profile, and how they work."""

    username: str
    display_name: str
    team: str
    level: Literal["basic", "senior", "expert"]
    skill: float = Field(ge=0, le=1, description="how often they get a call right")
    pace: float = Field(gt=0, description="talk-time factor (1: average)")
    volume: float = Field(gt=0, description="contacts-a-day factor (1: average)")


class PlannedContact(BaseModel):
    """One contact of the history: which template, who, for whom and when."""

    id: str
    template: int = Field(ge=0, description="index into the templates")
    agent: str = ""
    team: str = ""
    customer_id: str | None = None
    started_at: datetime
    turn_at: list[datetime]
    ended_at: datetime
    saved_at: datetime | None = Field(default=None, description="wrap-up saved (calls)")
    survey: Survey | None = None


class HistorySummary(BaseModel):
    """What ``generate_history`` recorded."""

    start: date
    end: date
    agents: int
    calls: int = 0
    chats: int = 0
    handoffs: int = 0
    surveys: int = 0
    repeated: int = 0
    contacts: int = 0
    templates: int = 0
    seconds: float = 0.0
    skipped: bool = Field(default=False, description="a history was there already: nothing done")


# ----- scenarios ----------------------------------------------------------------------------


def load_scenarios(folder: Path = HISTORY_DIR) -> tuple[list[CallScenario], list[ChatScenario]]:
    """The call and chat scenarios of a history folder.

    Raises:
        PolicyDeskError: a missing or invalid file (named, with the first error).
    """
    out: list[list[BaseModel]] = []
    for name, model in (("calls.yaml", CallScenario), ("chats.yaml", ChatScenario)):
        path = folder / name
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            out.append([model.model_validate(item) for item in raw])
        except OSError as exc:
            raise PolicyDeskError(f"cannot read {path}: {exc}") from None
        except (yaml.YAMLError, ValidationError) as exc:
            raise PolicyDeskError(f"{path} is not a valid scenario list: {exc}") from None
    calls, chats = out
    return [c for c in calls if isinstance(c, CallScenario)], [
        c for c in chats if isinstance(c, ChatScenario)
    ]


def run_templates(
    services: Services, folder: Path = HISTORY_DIR, at: datetime | None = None
) -> list[HistoryTemplate]:
    """Run every scenario once through the live services and keep what they produced; the runs
    themselves (calls, conversations, handoffs, contacts) are removed afterwards.

    Args:
        services: the composition root (its content ingested, its models trained).
        folder: the scenarios.
        at: when the runs start (default: now).

    Raises:
        PolicyDeskError: no demo agent account (``policydesk user seed-demo``), invalid
            scenarios, or no index or model to run them on.
    """
    call_scenarios, chat_scenarios = load_scenarios(folder)
    if DEMO_AGENT not in {u.username for u in services.accounts.list()}:
        raise PolicyDeskError(
            f"the demo history needs the demo agent account {DEMO_AGENT!r}: "
            "run `policydesk user seed-demo` first"
        )
    start = at or datetime.now(UTC)
    _remove_templates(services)
    templates: list[HistoryTemplate] = []
    try:
        # a few at a time: the batching encoder then embeds their turns together, which is what
        # the runs spend their time on
        with ThreadPoolExecutor(max_workers=TEMPLATE_WORKERS) as pool:
            templates += pool.map(lambda s: _run_call(services, s, start), call_scenarios)
            bot = services.chatbot()
            templates += pool.map(lambda s: _run_chat(services, bot, s, start), chat_scenarios)
    finally:
        _remove_templates(services)
    return templates


def _run_call(services: Services, scenario: CallScenario, at: datetime) -> HistoryTemplate:
    call_id = f"{TEMPLATE_PREFIX}{scenario.id}"
    calls = services.calls
    calls.start(
        NewCall(call_id=call_id, caller_number="console", agent=DEMO_AGENT),
        now=at,
        channel=Channel.CONSOLE,
    )
    for seq, turn in enumerate(scenario.turns):
        (speaker, text), *_ = turn.items()
        calls.add_segment(
            call_id, NewSegment(seq=seq, speaker=Speaker(speaker), text=text, final=True)
        )
    draft = calls.end(call_id)
    call = calls.get(call_id)
    # the contact as recorded when the call ended, then with the agent's wrap-up (rescored)
    services.quality.call_ended(call, draft.disposition.value)
    services.quality.wrap_up_saved(call_id, scenario.disposition)
    contact = services.quality.find(call_id)
    if contact is None:
        raise PolicyDeskError(f"scenario {scenario.id}: the call was not recorded for quality")
    return HistoryTemplate(
        scenario=scenario.id,
        kind=ContactKind.AGENT,
        quality=scenario.quality,
        weight=scenario.weight,
        disposition=scenario.disposition,
        suggested=draft.disposition.value,
        contact=contact,
        call=call,
    )


def _run_chat(
    services: Services, bot: ChatbotService, scenario: ChatScenario, at: datetime
) -> HistoryTemplate:
    conversation_id = f"{TEMPLATE_PREFIX}{scenario.id}"
    services.conversations.create(now=at, conversation_id=conversation_id)
    reason = ""
    when = at
    for text in scenario.messages:
        when += timedelta(seconds=30)
        answer = bot.post(conversation_id, text, now=when)
        if answer.handoff_id and not reason:
            reason = ",".join(answer.reasons)
    survey_turns = 0
    unsurveyed = None
    if scenario.ends == "thanks" and bot.conversation(conversation_id).survey_stage == "csat":
        unsurveyed = services.quality.find(conversation_id)  # a copy without the survey
        before = len(bot.conversation(conversation_id).turns)
        for text in ("5", "9"):  # placeholders: every copy draws its own answers
            when += timedelta(seconds=15)
            bot.post(conversation_id, text, now=when)
        survey_turns = len(bot.conversation(conversation_id).turns) - before
    conversation = bot.conversation(conversation_id)
    contact = services.quality.find(conversation_id)
    if contact is None:
        raise PolicyDeskError(f"scenario {scenario.id}: the chat was not recorded for quality")
    return HistoryTemplate(
        scenario=scenario.id,
        kind=ContactKind.BOT,
        quality="bot",
        weight=scenario.weight,
        handoff_reason=reason,
        survey_turns=survey_turns,
        contact=contact,
        unsurveyed=unsurveyed,
        conversation=conversation,
    )


def _remove_templates(services: Services) -> None:
    services.contacts.remove_prefixed(TEMPLATE_PREFIX)
    CallStore(services.engine, services.changes).remove_prefixed(TEMPLATE_PREFIX)
    services.handoffs.remove_for_sessions(TEMPLATE_PREFIX)
    services.conversations.remove_prefixed(TEMPLATE_PREFIX)


# ----- the plan (shared by both outputs) ----------------------------------------------------


def demo_staff(agents: int, seed: int = 7) -> list[StaffMember]:
    """The history's fictional agents: the demo account first, then named ones, then numbered
    ones (deterministic from the seed); teams in turn, levels by skill.

    Raises:
        PolicyDeskError: fewer than one agent.
    """
    if agents < 1:
        raise PolicyDeskError(f"the history needs at least one agent, got {agents}")
    rng = random.Random(f"staff/{seed}")
    out: list[StaffMember] = []
    for n in range(agents):
        if n == 0:
            username, name = DEMO_AGENT, DEMO_AGENT_NAME
        elif n <= len(NAMED_AGENTS):
            username, name = NAMED_AGENTS[n - 1]
        else:
            username = f"agent_{n:03d}"
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
        skill = round(rng.uniform(0.25, 0.95), 2)
        level: Literal["basic", "senior", "expert"] = (
            "expert" if skill >= 0.75 else "senior" if skill >= 0.5 else "basic"
        )
        out.append(
            StaffMember(
                username=username,
                display_name=name,
                team=TEAMS[n % len(TEAMS)],
                level=level,
                skill=skill,
                pace=round(rng.uniform(0.85, 1.25) + (0.6 - skill) * 0.3, 2),
                volume=round(rng.uniform(0.8, 1.2), 2),
            )
        )
    return out


def demo_customer_ids() -> list[str]:
    """The ids of the demo customers ``policydesk customers seed`` loads."""
    return [c["id"] for c in generate()["cust_customers"]]


def plan_history(
    today: date,
    days: int,
    staff: Sequence[StaffMember],
    seed: int,
    templates: Sequence[HistoryTemplate],
    customers: Sequence[str],
) -> list[PlannedContact]:
    """Who handled which template for which customer, and when, over the ``days`` days before
    ``today`` (deterministic from the seed and ``today``).

    Agents take 3-7 contacts a working day (0-2 at weekends), scaled by their volume; a skilled
    agent tends to get the scenarios done well, and the less skilled ones improve over the
    period. Chats come in all day. Some contacts are the customer coming back on a recent matter.

    Raises:
        PolicyDeskError: no days, no call or chat templates, or no customers.
    """
    if days < 1:
        raise PolicyDeskError(f"the history needs at least one day, got {days}")
    calls = [i for i, t in enumerate(templates) if t.kind is ContactKind.AGENT]
    chats = [i for i, t in enumerate(templates) if t.kind is ContactKind.BOT]
    if not calls or not chats:
        raise PolicyDeskError("the history needs call and chat templates")
    if not customers:
        raise PolicyDeskError(
            "the history needs the demo customers: run `policydesk customers seed`"
        )
    rng = random.Random(f"history/{seed}/{today.isoformat()}")
    first = today - timedelta(days=days)
    recent: list[tuple[datetime, str, str]] = []  # (when, customer, matter) of the last days
    out: list[PlannedContact] = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        progress = offset / max(1, days - 1)
        weekend = day.weekday() >= 5
        recent = [r for r in recent if r[0].date() > day - timedelta(days=6)]
        todays: list[tuple[datetime, StaffMember | None]] = []
        for agent in staff:
            count = rng.randint(0, 2) if weekend else rng.randint(3, 7)
            todays += [(_moment(rng, day), agent) for _ in range(round(count * agent.volume))]
        bots = rng.randint(3, 6) if weekend else rng.randint(6, 12)
        todays += [(_moment(rng, day), None) for _ in range(max(1, round(bots * len(staff) / 8)))]
        todays.sort(key=lambda item: (item[0], item[1].username if item[1] else ""))
        for number, (start, member) in enumerate(todays, start=1):
            customer, matter = _customer(rng, recent, customers)
            if member is None:
                chosen = _pick(rng, templates, chats, matter, None, progress)
                kind = "s"
            else:
                chosen = _pick(rng, templates, calls, matter, member, progress)
                kind = "c"
            template = templates[chosen]
            if member is None and rng.random() < 0.4:
                customer = None  # most self-service customers never identify themselves
            turn_at, ended = _timeline(rng, template, start, member)
            planned = PlannedContact(
                id=f"{DEMO_PREFIX}{kind}-{day:%Y%m%d}-{number:04d}",
                template=chosen,
                agent=member.username if member else "",
                team=member.team if member else "",
                customer_id=customer,
                started_at=start,
                turn_at=turn_at,
                ended_at=ended,
            )
            if member is not None:
                acw = max(15.0, rng.gauss(40 + 60 * (1 - member.skill), 15))
                planned.saved_at = ended + timedelta(seconds=round(acw))
            planned.survey = _survey(rng, template)
            out.append(planned)
            if customer is not None:
                recent.append((start, customer, template.contact.matter))
    return out


def _moment(rng: random.Random, day: date) -> datetime:
    opens = datetime.combine(day, OPENS, CHINA)
    span = (datetime.combine(day, CLOSES, CHINA) - opens).total_seconds()
    return (opens + timedelta(seconds=rng.randrange(int(span)))).astimezone(UTC)


def _customer(
    rng: random.Random, recent: Sequence[tuple[datetime, str, str]], customers: Sequence[str]
) -> tuple[str | None, str | None]:
    """A customer, and the matter when they come back about a recent one."""
    if recent and rng.random() < FOLLOW_UP_SHARE:
        _, customer, matter = rng.choice(recent)
        return customer, matter
    if rng.random() < ANONYMOUS_SHARE:
        return None, None
    return rng.choice(customers), None


def _pick(
    rng: random.Random,
    templates: Sequence[HistoryTemplate],
    among: Sequence[int],
    matter: str | None,
    member: StaffMember | None,
    progress: float,
) -> int:
    """A template: on the customer's matter when they come back (if any template is), weighted
    by how common it is and, for an agent, by their skill (growing over the period)."""
    pool = [i for i in among if templates[i].contact.matter == matter] or list(among)
    weights = []
    for i in pool:
        weight = templates[i].weight
        if member is not None:
            skill = min(1.0, member.skill + (0.15 * progress if member.level == "basic" else 0))
            weight *= 0.2 + skill if templates[i].quality in GOOD else 1.2 - skill
        weights.append(weight)
    return rng.choices(pool, weights=weights)[0]


def _timeline(
    rng: random.Random, template: HistoryTemplate, start: datetime, member: StaffMember | None
) -> tuple[list[datetime], datetime]:
    """When each turn of a copy is said, and when the contact ends: speech at about four and a
    half characters a second (the agent's pace), customers typing slower in a chat."""
    pace = member.pace if member else 1.0
    at = start + timedelta(seconds=rng.randint(2, 6))
    out = []
    for turn in template.contact.turns:
        out.append(at)
        if template.kind is ContactKind.BOT:
            step = 2.0 if turn.speaker is Speaker.BOT else rng.uniform(12, 45)
        else:
            step = 1.5 + len(turn.text) / 4.5 * (pace if turn.speaker is Speaker.AGENT else 1.0)
            step += rng.uniform(0, 6)
        at += timedelta(seconds=round(step, 1))
    return out, at


def _survey(rng: random.Random, template: HistoryTemplate) -> Survey | None:
    """The customer's survey answer, if they give one: more often and warmer after a well-handled
    contact, colder when they were upset and stayed so."""
    contact = template.contact
    if template.kind is ContactKind.BOT:
        if not template.survey_turns or rng.random() >= CHAT_SURVEY_SHARE:
            return None
        base = 0.85
    else:
        if rng.random() >= CALL_SURVEY_SHARE:
            return None
        score = contact.qa.score if contact.qa is not None and contact.qa.score is not None else 70
        base = score / 100
    if contact.upset:
        base += 0.1 if contact.recovered else -0.3
    csat = min(5, max(1, round(1 + 4 * base + rng.gauss(0, 0.6))))
    nps = min(10, max(0, round(10 * base + rng.gauss(0, 1.5))))
    return Survey(csat=csat, nps=nps)


# ----- the two outputs ------------------------------------------------------------------------


def contact_of(planned: PlannedContact, template: HistoryTemplate) -> ContactRecord:
    """A planned contact as its record, from the template's (pure; ``repeated`` not set): what
    recording the copy through the stores gives, but for the time it was scored."""
    turns = _turns_of(planned, template)
    unanswered = planned.survey is None and template.survey_turns > 0
    scored = template.unsurveyed if unanswered and template.unsurveyed else template.contact
    contact = scored.model_copy(
        update={
            "id": planned.id,
            "agent": planned.agent,
            "team": planned.team,
            "customer_id": planned.customer_id,
            "started_at": planned.started_at,
            "ended_at": planned.ended_at
            if template.kind is ContactKind.AGENT
            else max(t.at for t in turns if t.at is not None),
            "turns": turns,
            "survey": planned.survey or Survey(),
            "repeated": False,
        }
    )
    contact.handle_s = (contact.ended_at - contact.started_at).total_seconds()
    if planned.saved_at is not None:
        contact = with_wrap_up(contact, template.disposition, planned.saved_at)
    return contact


def _turns_of(planned: PlannedContact, template: HistoryTemplate) -> list[ContactTurn]:
    kept = len(template.contact.turns)
    if template.survey_turns and planned.survey is None:
        kept -= template.survey_turns
    answers = iter(_survey_texts(planned.survey))
    turns = []
    for i, turn in enumerate(template.contact.turns[:kept]):
        update: dict[str, object] = {"at": planned.turn_at[i]}
        if (
            template.survey_turns
            and i >= kept - template.survey_turns
            and turn.speaker is Speaker.CUSTOMER
        ):
            update["text"] = next(answers, turn.text)
        turns.append(turn.model_copy(update=update))
    return turns


def _survey_texts(survey: Survey | None) -> list[str]:
    if survey is None:
        return []
    return [str(survey.csat), str(survey.nps)]


def history_contacts(
    today: date,
    days: int,
    agents: int,
    seed: int,
    templates: Sequence[HistoryTemplate],
    customers: Sequence[str] | None = None,
) -> list[ContactRecord]:
    """The history as contact records only (no calls or conversations stored), ``repeated``
    marked: for ``ContactStore.record_many`` (the benchmark's 90 days x 50 agents).

    Raises:
        PolicyDeskError: as ``plan_history``.
    """
    staff = demo_staff(agents, seed)
    plan = plan_history(today, days, staff, seed, templates, customers or demo_customer_ids())
    return mark_repeats([contact_of(p, templates[p.template]) for p in plan])


def generate_history(
    services: Services,
    today: date,
    days: int = 90,
    agents: int = 8,
    seed: int = 7,
    replace: bool = False,
    templates: Sequence[HistoryTemplate] | None = None,
) -> HistorySummary:
    """Record the demo history through the live stores (idempotent).

    Args:
        services: the composition root (content ingested, models trained, demo customers and
            the demo agent account loaded).
        today: the history covers the ``days`` days before it.
        days: how many days.
        agents: how many fictional agents (the demo account ``agent01`` first).
        seed: the plan's seed: the same seed and ``today`` give the same history.
        replace: remove an existing demo history first (otherwise one there means nothing is
            done).
        templates: the scenario runs to reuse (default: run them now).

    Raises:
        PolicyDeskError: no demo customers or agent account, invalid scenarios, no index or
            model to run them on.
    """
    began = time.perf_counter()
    staff = demo_staff(agents, seed)
    summary = HistorySummary(
        start=today - timedelta(days=days), end=today - timedelta(days=1), agents=len(staff)
    )
    contacts = services.contacts
    existing = contacts.count(contacts_table.c.id.startswith(DEMO_PREFIX, autoescape=True))
    if existing and not replace:
        summary.skipped = True
        summary.contacts = existing
        return summary
    calls = CallStore(services.engine, services.changes)
    if existing or replace:
        contacts.remove_prefixed(DEMO_PREFIX)
        calls.remove_prefixed(DEMO_PREFIX)
        services.conversations.remove_prefixed(DEMO_PREFIX)
        services.feedback.remove_channel(VOTE_CHANNEL)
    customer_ids = [c.id for c in services.customers.list(limit=max(1, services.customers.count()))]
    if not customer_ids:
        raise PolicyDeskError(
            "the demo history needs the demo customers: run `policydesk customers seed`"
        )
    runs = list(templates) if templates is not None else run_templates(services)
    summary.templates = len(runs)
    for member in staff:
        services.staff.set(member.username, member.display_name, member.team, member.level)
    plan = plan_history(today, days, staff, seed, runs, customer_ids)
    for planned in plan:
        template = runs[planned.template]
        if template.kind is ContactKind.AGENT:
            _record_call(services, calls, planned, template)
            summary.calls += 1
        else:
            _record_chat(services, planned, template)
            summary.chats += 1
            summary.handoffs += template.contact.handoff
        summary.surveys += planned.survey is not None
    summary.contacts = len(plan)
    summary.repeated = contacts.count(
        and_(
            contacts_table.c.id.startswith(DEMO_PREFIX, autoescape=True), contacts_table.c.repeated
        )
    )
    summary.seconds = round(time.perf_counter() - began, 1)
    return summary


def _record_call(
    services: Services, store: CallStore, planned: PlannedContact, template: HistoryTemplate
) -> None:
    assert template.call is not None
    info = template.call.info.model_copy(update={"tier": ""})
    call = store.create(
        Call(
            id=planned.id,
            agent=planned.agent,
            customer_id=planned.customer_id,
            caller="",
            channel=Channel.CONSOLE,
            state=CallState.LIVE,
            started_at=planned.started_at,
            info=CallInfo(),
        )
    )
    for i, segment in enumerate(template.call.finals()):
        store.save_segment(
            call, segment.model_copy(update={"received_at": planned.turn_at[i]}), info
        )
        call = call.model_copy(update={"version": call.version + 1})
    ended = store.end(call, at=planned.ended_at)
    services.quality.call_ended(ended, template.suggested, planned.ended_at)
    assert planned.saved_at is not None
    services.quality.wrap_up_saved(planned.id, template.disposition, planned.saved_at)
    if planned.survey is not None:
        services.quality.record_survey(planned.id, planned.survey)
    vote = card_vote(planned, template)
    if vote is not None:
        services.feedback.record(vote, at=planned.ended_at)


def card_vote(planned: PlannedContact, template: HistoryTemplate) -> NewFeedback | None:
    """The agent's vote on the first card the call showed, on about one call in four
    (deterministic from the contact's id): helpful more often than not, as on a real floor."""
    assert template.call is not None
    roll = zlib.crc32(planned.id.encode()) % 100
    if roll >= VOTE_SHARE:
        return None
    for segment in template.call.finals():
        view = segment.assist
        if view is not None and view.speaker is Speaker.CUSTOMER and view.hits:
            card = view.hits[0]
            return NewFeedback(
                passage_id=card.id,
                citation=card.citation,
                kind=card.kind.value,
                question=segment.text,
                helpful=roll < VOTE_SHARE * HELPFUL_SHARE,
                agent=planned.agent,
                channel=VOTE_CHANNEL,
            )
    return None


def _record_chat(services: Services, planned: PlannedContact, template: HistoryTemplate) -> None:
    assert template.conversation is not None
    source = template.conversation
    turns = [
        t.model_copy(update={"at": c.at, "text": c.text})
        for t, c in zip(source.turns, _turns_of(planned, template), strict=False)
    ]
    services.conversations.create(
        channel=source.channel, now=planned.started_at, conversation_id=planned.id
    )
    copy = source.model_copy(
        update={
            "id": planned.id,
            "created_at": planned.started_at,
            "turns": turns,
            "customer_id": planned.customer_id,
            "handoff_id": f"H{planned.id}" if source.handoff_id else None,
            "recent": [],
            "survey_stage": None,
            "csat": planned.survey.csat if planned.survey else None,
            "nps": planned.survey.nps if planned.survey else None,
        }
    )
    services.conversations.save(copy, 1)
    services.quality.chat_answered(copy, template.handoff_reason)
