"""Customer profile models as the console sees them: masked identifiers only."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from core.sql import as_utc


class MemberTier(StrEnum):
    """Membership tiers; what each includes is data (``customers.privileges``)."""

    REGULAR = "普通"
    THREE_STAR = "三星"
    FOUR_STAR = "四星"
    FIVE_STAR = "五星"


CLAIM_STAGES = ["报案", "查勘", "定损", "核赔", "支付"]


class Vehicle(BaseModel):
    """A customer's vehicle."""

    plate: str
    model: str
    energy: str = Field(description="燃油 or 新能源")


class Coverage(BaseModel):
    """One coverage on a policy with its limit (yuan; 0 = by actual value)."""

    name: str
    limit: int = 0


class Policy(BaseModel):
    """A motor policy."""

    policy_no: str
    plate: str
    coverages: list[Coverage]
    start: date
    end: date
    premium: float

    def in_force(self, on: date) -> bool:
        """Whether the policy covers the given day."""
        return self.start <= on <= self.end


def _aware(value: datetime) -> datetime:
    """Every time is time-zone aware; a naive one (written before that rule) is UTC."""
    return as_utc(value) if value.tzinfo is None else value


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class ClaimEvent(BaseModel):
    """One step of a claim's timeline."""

    stage: str
    at: AwareTime
    note: str = ""


class Claim(BaseModel):
    """A claim with its stage timeline."""

    claim_no: str
    policy_no: str
    plate: str
    reported_at: AwareTime
    description: str
    stage: str
    amount: float | None = Field(default=None, description="assessed or paid amount, yuan")
    adjuster: str = ""
    timeline: list[ClaimEvent] = Field(default_factory=list)


class Interaction(BaseModel):
    """A past contact with notes and its disposition."""

    at: AwareTime
    channel: str
    summary: str
    disposition: str
    agent: str = ""


class CustomerSummary(BaseModel):
    """One line of a search result."""

    id: str
    name: str = Field(description="masked")
    phone: str = Field(description="masked")
    tier: MemberTier
    plates: list[str]


class CustomerProfile(BaseModel):
    """Everything the console shows about a customer; identifiers are masked."""

    id: str
    name: str = Field(description="masked, e.g. 王*明")
    salutation: str = Field(description="e.g. 王先生")
    phone: str = Field(description="masked, e.g. 138****5678")
    id_number: str = Field(description="masked")
    city: str
    tier: MemberTier
    privileges: list[str] = Field(
        description="what the tier includes (data/members/privileges.yaml): 道路救援（每年2次）"
    )
    vehicles: list[Vehicle]
    policies: list[Policy]
    claims: list[Claim]
    interactions: list[Interaction]
    self_service: SelfServiceSummary = Field(
        default_factory=lambda: SelfServiceSummary(),
        description="what the customer did in the self-service claims flows (微理赔)",
    )

    def clause_date(self, today: date) -> date | None:
        """The date that decides which clause editions apply to this customer: the start of the
        policy in force today, else of the latest policy; None without policies."""
        if not self.policies:
            return None
        in_force = [p for p in self.policies if p.start <= today < p.end]
        chosen = max(in_force or self.policies, key=lambda p: p.start)
        return chosen.start

    def placeholders(self) -> dict[str, str]:
        """Values for script placeholders ({客户称呼}, {车牌}, {保单号}, {案件号}, {案件阶段})."""
        values = {"客户称呼": self.salutation}
        if self.vehicles:
            values["车牌"] = self.vehicles[0].plate
        if self.policies:
            values["保单号"] = self.policies[0].policy_no
        if self.claims:
            latest = max(self.claims, key=lambda c: c.reported_at)
            values["案件号"] = latest.claim_no
            values["案件阶段"] = latest.stage
        return values


ERASED_NAME = "（已删除）"
"""A customer's name after their personal data was erased on their request."""


class RevealableField(StrEnum):
    """The full identifiers a supervisor may reveal, with a reason (audited)."""

    PHONE = "phone"
    ID_NUMBER = "id_number"


# ----- self-service claim records (customers/selfservice.py) ---------------------------------

WITHDRAWN_STAGE = "已撤案"
"""A claim's stage once a person confirmed the customer's withdrawal (撤案); after the stages of
``CLAIM_STAGES``, never one of them."""


class AppointmentKind(StrEnum):
    """What a self-service appointment is for."""

    ONLINE_SURVEY = "online_survey"
    """在线查勘: a video survey of the damage with an adjuster."""
    INJURY_MEDIATION = "injury_mediation"
    """人伤调解预约: a mediation session on an injury claim."""


class AppointmentState(StrEnum):
    """Where an appointment stands."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class WithdrawalState(StrEnum):
    """Where a withdrawal request stands: a person confirms or refuses it."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class OtherParty(BaseModel):
    """The other vehicle in an accident (none for a single-vehicle accident)."""

    plate: str = ""
    insurer: str = ""


class ClaimReportRecord(BaseModel):
    """What the customer told the self-service report flow (一键报案) about a claim."""

    claim_no: str
    accident_at: AwareTime
    place: str
    what_happened: str
    injuries: bool
    injury_note: str = ""
    other_party: OtherParty | None = None
    photo_ids: list[str] = Field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    channel: str
    conversation_id: str | None = None
    created_at: AwareTime


class Appointment(BaseModel):
    """A booked (or cancelled) survey or mediation slot."""

    id: int
    customer_id: str
    claim_no: str
    kind: AppointmentKind
    slot_start: AwareTime
    slot_end: AwareTime
    contact_phone: str = Field(description="masked, e.g. 138****5678")
    notes: str = ""
    state: AppointmentState
    created_at: AwareTime
    cancelled_at: AwareTime | None = None


class WithdrawalRequest(BaseModel):
    """A customer's request to withdraw a claim (撤案申请); a person confirms or refuses it."""

    id: int
    customer_id: str
    claim_no: str
    reason: str
    state: WithdrawalState
    stage_before: str = Field(description="the claim's stage when the customer asked")
    requested_at: AwareTime
    decided_by: str | None = None
    decided_at: AwareTime | None = None
    note: str = ""


class SelfServiceSummary(BaseModel):
    """A customer's self-service records, newest first, as the profile panel shows them."""

    reports: list[ClaimReportRecord] = Field(default_factory=list)
    appointments: list[Appointment] = Field(default_factory=list)
    withdrawals: list[WithdrawalRequest] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when the customer has no self-service record."""
        return not (self.reports or self.appointments or self.withdrawals)


CustomerProfile.model_rebuild()
