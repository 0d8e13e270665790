"""The records the self-service claims flows (微理赔) end in: a reported claim, an appointment, a
withdrawal request that a person confirms.

Each write is one transaction with its audit entry and a line in the customer's contact history,
so the agent's profile shows the record at once:

* ``report_claim`` (一键报案) creates a real claim in the claims table at stage 报案, with a claim
  number in the demo's format (``RC`` + report day + six digits; self-service numbers start with 9);
* ``book`` / ``cancel`` (在线查勘, 人伤调解预约) take a slot of ``data/selfservice/slots.yaml``,
  capacity enforced in the writing transaction;
* ``request_withdrawal`` (撤案申请) waits, ``pending``, for an agent or supervisor to ``decide``;
  an approval moves the claim to 已撤案 with a timeline event.

Who may decide is the caller's check (the staff API requires a console account): this layer sits
beside ``accounts`` and names the person only.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from audit.log import AuditLog
from core.errors import PolicyDeskError, describe_validation_error
from core.files import read_yaml
from core.masking import mask_phone
from customers.models import (
    CLAIM_STAGES,
    WITHDRAWN_STAGE,
    Appointment,
    AppointmentKind,
    AppointmentState,
    AwareTime,
    Claim,
    OtherParty,
    SelfServiceSummary,
    WithdrawalRequest,
    WithdrawalState,
)
from customers.records import (
    appointment_record,
    self_service_summary,
    withdrawal_record,
)
from customers.store import CustomerNotFoundError
from db.changes import Change, ChangeWatcher
from db.schema import (
    claims,
    customers,
    interactions,
    policies,
    selfservice_appointments,
    selfservice_reports,
    selfservice_withdrawals,
)
from db.store import SqlStore

MAX_TEXT_CHARS = 500
MAX_PHOTOS = 20
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the server's clock an accident time may be (a phone's clock runs fast)."""
PAID_STAGE = CLAIM_STAGES[-1]
SELF_SERVICE_SERIAL = 900000
"""Self-service claim numbers use the serials 900001…999999 of their day; the demo's serials
(customer number and vehicle) stay below."""
_NUMBER_ATTEMPTS = 5
_PHONE = re.compile(r"^1\d{10}$")
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$")


# ----- errors --------------------------------------------------------------------------------


class SelfServiceError(PolicyDeskError):
    """A self-service record that cannot be written (the subclasses say why)."""


class InvalidSelfServiceInputError(SelfServiceError):
    """A field of a self-service request has a bad value; names the field and the value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value!r})")
        self.field = field
        self.value = value
        self.reason = reason


class PolicyMismatchError(SelfServiceError):
    """The policy is not the customer's, is not for that plate, or was not in force that day."""


class ClaimNotOwnedError(SelfServiceError):
    """No such claim, or it is another customer's (the message does not say which)."""


class ClaimStateError(SelfServiceError):
    """The claim's stage does not allow this (paid, withdrawn, no injuries for mediation)."""


class SlotUnavailableError(SelfServiceError):
    """The slot is not one of the opening hours, is past, or is full."""


class AppointmentNotFoundError(SelfServiceError):
    """No such appointment for this customer."""


class WithdrawalNotFoundError(SelfServiceError):
    """No withdrawal request with this id."""


class WithdrawalStateError(SelfServiceError):
    """The claim has a pending withdrawal already, or the request was decided already."""


# ----- inputs --------------------------------------------------------------------------------


def _words(value: str, field: str, required: bool = True) -> str:
    words = " ".join(value.split())
    if required and not words:
        raise InvalidSelfServiceInputError(field, value, "must not be empty")
    if len(words) > MAX_TEXT_CHARS:
        raise InvalidSelfServiceInputError(
            field, value[:40] + "…", f"has more than {MAX_TEXT_CHARS} characters"
        )
    return words


def _with_zone(value: object, field: str) -> object:
    """A time as given (an ISO string read), refused without a time zone."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise InvalidSelfServiceInputError(field, value, "needs a time zone (e.g. +08:00)")
    return moment


def _key(value: str) -> str:
    return "".join(value.split()).upper()


class _Input(BaseModel):
    """An input: checks raise ``InvalidSelfServiceInputError``; ``parse`` turns the type errors
    pydantic finds itself into one too."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Self:
        """The request from plain data (a flow's answers).

        Raises:
            InvalidSelfServiceInputError: a missing field or a bad value, named.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "request"
            raise InvalidSelfServiceInputError(
                field, first.get("input"), describe_validation_error(exc, limit=1)
            ) from exc


class Location(BaseModel):
    """Where the phone was when the customer reported (WGS-84)."""

    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float

    @model_validator(mode="after")
    def _on_earth(self) -> Location:
        if not -90 <= self.lat <= 90:
            raise InvalidSelfServiceInputError("location.lat", self.lat, "must be within ±90")
        if not -180 <= self.lon <= 180:
            raise InvalidSelfServiceInputError("location.lon", self.lon, "must be within ±180")
        return self


class NewClaimReport(_Input):
    """一键报案: the customer reports an accident."""

    customer_id: str = Field(min_length=1, max_length=32)
    policy_no: str = Field(min_length=1, max_length=32)
    plate: str = Field(min_length=1, max_length=16)
    accident_at: AwareTime = Field(description="time-zone aware; not in the future")
    place: str
    what_happened: str
    injuries: bool = False
    injury_note: str = ""
    other_party: OtherParty | None = Field(default=None, description="None: no other vehicle")
    photo_ids: list[str] = Field(default_factory=list, description="upload ids; may be empty")
    location: Location | None = None
    channel: str = Field(default="APP", min_length=1, max_length=16)
    conversation_id: str | None = Field(default=None, max_length=64)

    @field_validator("policy_no", "plate")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return _key(value)

    @field_validator("accident_at", mode="before")
    @classmethod
    def _aware_time(cls, value: object) -> object:
        return _with_zone(value, "accident_at")

    @field_validator("accident_at")
    @classmethod
    def _not_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + CLOCK_SKEW:
            raise InvalidSelfServiceInputError("accident_at", value.isoformat(), "is in the future")
        return value

    @field_validator("place")
    @classmethod
    def _place(cls, value: str) -> str:
        return _words(value, "place")

    @field_validator("what_happened")
    @classmethod
    def _what(cls, value: str) -> str:
        return _words(value, "what_happened")

    @field_validator("photo_ids")
    @classmethod
    def _photos(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_PHOTOS:
            raise InvalidSelfServiceInputError(
                "photo_ids", len(value), f"at most {MAX_PHOTOS} photos"
            )
        for upload in value:
            if not upload.strip() or len(upload) > 64:
                raise InvalidSelfServiceInputError("photo_ids", upload, "is not an upload id")
        return [upload.strip() for upload in value]

    @field_validator("other_party")
    @classmethod
    def _other(cls, value: OtherParty | None) -> OtherParty | None:
        if value is None:
            return None
        plate, insurer = _key(value.plate), " ".join(value.insurer.split())
        if not plate:
            raise InvalidSelfServiceInputError(
                "other_party.plate", value.plate, "must not be empty (no other vehicle: null)"
            )
        if not _PLATE.match(plate):
            raise InvalidSelfServiceInputError("other_party.plate", value.plate, "is not a plate")
        if len(insurer) > 64:
            raise InvalidSelfServiceInputError("other_party.insurer", insurer, "is too long")
        return OtherParty(plate=plate, insurer=insurer)

    @model_validator(mode="after")
    def _injury_note(self) -> NewClaimReport:
        note = _words(self.injury_note, "injury_note", required=self.injuries)
        if note and not self.injuries:
            raise InvalidSelfServiceInputError(
                "injury_note", self.injury_note, "given while injuries is false"
            )
        object.__setattr__(self, "injury_note", note)
        return self


class NewAppointment(_Input):
    """在线查勘 / 人伤调解预约: the customer books a slot on one of their claims."""

    customer_id: str = Field(min_length=1, max_length=32)
    claim_no: str = Field(min_length=1, max_length=32)
    kind: AppointmentKind
    slot_start: AwareTime
    contact_phone: str = Field(description="a mainland mobile number; shown masked")
    notes: str = ""

    @field_validator("claim_no")
    @classmethod
    def _claim(cls, value: str) -> str:
        return _key(value)

    @field_validator("slot_start", mode="before")
    @classmethod
    def _aware_slot(cls, value: object) -> object:
        return _with_zone(value, "slot_start")

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if not _PHONE.match(digits):
            raise InvalidSelfServiceInputError(
                "contact_phone", mask_phone(value), "is not a mobile number"
            )
        return digits

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str) -> str:
        return _words(value, "notes", required=False)


class NewWithdrawal(_Input):
    """撤案申请: the customer asks to withdraw one of their claims."""

    customer_id: str = Field(min_length=1, max_length=32)
    claim_no: str = Field(min_length=1, max_length=32)
    reason: str

    @field_validator("claim_no")
    @classmethod
    def _claim(cls, value: str) -> str:
        return _key(value)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _words(value, "reason")


# ----- slots ---------------------------------------------------------------------------------


class SlotRules(BaseModel):
    """``data/selfservice/slots.yaml``: opening hours (the centre's wall clock, every day), slot
    length and capacity per kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opens: time
    closes: time
    slot_minutes: int = Field(ge=5, le=240)
    capacity: dict[AppointmentKind, int]
    horizon_days: int = Field(default=14, ge=1, le=90)

    @model_validator(mode="after")
    def _consistent(self) -> SlotRules:
        if self.closes <= self.opens:
            raise ValueError(f"closes {self.closes} is not after opens {self.opens}")
        missing = [k.value for k in AppointmentKind if self.capacity.get(k, 0) < 1]
        if missing:
            raise ValueError(f"capacity must be at least 1 for {', '.join(missing)}")
        return self

    def starts(self, day: date, zone: ZoneInfo) -> list[datetime]:
        """Every slot start of a day, aware in the centre's zone."""
        found = []
        at = datetime.combine(day, self.opens, zone)
        end = datetime.combine(day, self.closes, zone)
        step = timedelta(minutes=self.slot_minutes)
        while at + step <= end:
            found.append(at)
            at += step
        return found


class Slot(BaseModel):
    """One bookable slot and how many places are left."""

    kind: AppointmentKind
    start: AwareTime
    end: AwareTime
    capacity: int
    free: int


def load_slot_rules(path: Any) -> SlotRules:
    """The slot rules file.

    Raises:
        ConfigurationError: missing file or an invalid entry, naming the file.
    """
    return read_yaml(path, SlotRules)


# ----- the store -----------------------------------------------------------------------------


class SelfServiceRecords(SqlStore):
    """Writes and reads the self-service records.

    Args:
        engine: the shared engine.
        audit: where every write is recorded (in the same transaction).
        slots: the appointment slot rules.
        zone: the centre's time zone (slots and claim-number days are its wall clock).
        watcher: this process's change notices.
    """

    ANNOUNCES = Change.SELFSERVICE

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        slots: SlotRules,
        zone: ZoneInfo,
        watcher: ChangeWatcher | None = None,
    ) -> None:
        super().__init__(engine, watcher)
        self._audit = audit
        self.slots = slots
        self._zone = zone

    # ----- 一键报案 -------------------------------------------------------------------------

    def report_claim(self, new: NewClaimReport, now: datetime | None = None) -> Claim:
        """Create the claim the customer reported, at stage 报案, with a new claim number.

        The claim is in the same table as every other claim, so the customer's profile shows it
        at once; its details are kept beside it (``records_for``).

        Raises:
            CustomerNotFoundError: unknown customer.
            PolicyMismatchError: the policy is not the customer's, not for that plate, or not in
                force on the accident day (the centre's calendar).
            InvalidSelfServiceInputError: the accident time is after ``now``.
        """
        when = now or datetime.now(UTC)
        if new.accident_at > when + CLOCK_SKEW:
            raise InvalidSelfServiceInputError(
                "accident_at", new.accident_at.isoformat(), "is in the future"
            )
        accident_day = new.accident_at.astimezone(self._zone).date()
        for attempt in range(_NUMBER_ATTEMPTS):
            try:
                with self.transaction() as conn:
                    self._check_policy(conn, new, accident_day)
                    claim_no = self._next_claim_no(conn, when)
                    self._insert_claim(conn, new, claim_no, when)
                return self._claim(claim_no)
            except IntegrityError:
                # another report took the same number between our read and write: take the next
                if attempt == _NUMBER_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_policy(self, conn: Connection, new: NewClaimReport, day: date) -> None:
        exists = conn.execute(
            select(customers.c.id).where(customers.c.id == new.customer_id)
        ).first()
        if exists is None:
            raise CustomerNotFoundError(f"no customer {new.customer_id!r}")
        policy = conn.execute(
            select(policies).where(
                policies.c.policy_no == new.policy_no,
                policies.c.customer_id == new.customer_id,
            )
        ).first()
        if policy is None:
            raise PolicyMismatchError(
                f"policy_no: {new.policy_no!r} is not a policy of customer {new.customer_id}"
            )
        if policy.plate != new.plate:
            raise PolicyMismatchError(
                f"plate: {new.plate!r} is not the vehicle of policy {new.policy_no}"
            )
        if not policy.start <= day <= policy.end:
            raise PolicyMismatchError(
                f"accident_at: policy {new.policy_no} runs {policy.start} to {policy.end}, "
                f"not on {day} (got {new.accident_at.isoformat()!r})"
            )

    def _next_claim_no(self, conn: Connection, when: datetime) -> str:
        prefix = f"RC{when.astimezone(self._zone):%Y%m%d}"
        lowest = f"{prefix}{SELF_SERVICE_SERIAL}"
        latest = conn.execute(
            select(func.max(claims.c.claim_no)).where(
                claims.c.claim_no > lowest, claims.c.claim_no.startswith(prefix)
            )
        ).scalar()
        serial = int(str(latest)[len(prefix) :]) + 1 if latest else SELF_SERVICE_SERIAL + 1
        if serial > 999999:
            raise SelfServiceError(f"no claim numbers left for {prefix[2:]}")
        return f"{prefix}{serial:06d}"

    def _insert_claim(
        self, conn: Connection, new: NewClaimReport, claim_no: str, when: datetime
    ) -> None:
        note = f"自助报案（{new.channel}）" + ("，有人伤" if new.injuries else "")
        conn.execute(
            insert(claims).values(
                claim_no=claim_no,
                customer_id=new.customer_id,
                policy_no=new.policy_no,
                plate=new.plate,
                reported_at=when,
                description=new.what_happened,
                stage=CLAIM_STAGES[0],
                amount=None,
                adjuster="",
                timeline=[{"stage": CLAIM_STAGES[0], "at": when.isoformat(), "note": note}],
            )
        )
        conn.execute(
            insert(selfservice_reports).values(
                claim_no=claim_no,
                customer_id=new.customer_id,
                accident_at=new.accident_at,
                place=new.place,
                what_happened=new.what_happened,
                injuries=new.injuries,
                injury_note=new.injury_note,
                other_party=new.other_party.model_dump() if new.other_party else {},
                photo_ids=new.photo_ids,
                latitude=new.location.lat if new.location else None,
                longitude=new.location.lon if new.location else None,
                channel=new.channel,
                conversation_id=new.conversation_id,
                created_at=when,
            )
        )
        self._history(conn, new.customer_id, when, new.channel, f"自助报案 {claim_no}", "已报案")
        self._audit.record(
            f"customer:{new.customer_id}",
            "selfservice.report",
            claim_no,
            f"{new.customer_id} policy {new.policy_no} via {new.channel}, "
            f"{len(new.photo_ids)} photos" + (", injuries" if new.injuries else ""),
            connection=conn,
            at=when,
        )

    # ----- 在线查勘 / 人伤调解预约 ----------------------------------------------------------

    def available_slots(
        self, kind: AppointmentKind, day: date, now: datetime | None = None
    ) -> list[Slot]:
        """The slots of a day (the centre's calendar) that start after ``now`` and have room.

        Raises:
            SlotUnavailableError: the day is past the booking horizon.
        """
        when = now or datetime.now(UTC)
        today = when.astimezone(self._zone).date()
        if day > today + timedelta(days=self.slots.horizon_days):
            raise SlotUnavailableError(
                f"day: bookings open {self.slots.horizon_days} days ahead (got {day})"
            )
        starts = [s for s in self.slots.starts(day, self._zone) if s > when]
        if not starts:
            return []
        table = selfservice_appointments
        with self.reading() as conn:
            taken = {
                row.slot_start: int(row.n)
                for row in conn.execute(
                    select(table.c.slot_start, func.count().label("n"))
                    .where(
                        table.c.kind == kind.value,
                        table.c.state == AppointmentState.BOOKED.value,
                        table.c.slot_start >= starts[0],
                        table.c.slot_start <= starts[-1],
                    )
                    .group_by(table.c.slot_start)
                )
            }
        capacity = self.slots.capacity[kind]
        step = timedelta(minutes=self.slots.slot_minutes)
        found = []
        for start in starts:
            free = capacity - taken.get(start.astimezone(UTC), 0)
            if free > 0:
                found.append(
                    Slot(kind=kind, start=start, end=start + step, capacity=capacity, free=free)
                )
        return found

    def book(self, new: NewAppointment, now: datetime | None = None) -> Appointment:
        """Book a slot on one of the customer's claims.

        Rules: the slot is one of the opening hours, starts after ``now`` and within the booking
        horizon, and has room (capacity is counted in the writing transaction, so two customers
        never both take the last place); the claim is the customer's and neither paid (支付) nor
        withdrawn; a claim holds at most one booked appointment of each kind; injury mediation
        (人伤调解) not for a claim whose self-service report said nobody was injured.

        Raises:
            ClaimNotOwnedError: unknown claim, or another customer's.
            ClaimStateError: paid or withdrawn claim; mediation on a claim reported unhurt; a
                booked appointment of that kind on the claim already.
            SlotUnavailableError: not a slot, past, beyond the horizon, or full.
        """
        when = now or datetime.now(UTC)
        start = new.slot_start.astimezone(self._zone)
        self._check_slot(new.kind, start, when)
        step = timedelta(minutes=self.slots.slot_minutes)
        table = selfservice_appointments
        with self.transaction() as conn:
            claim = self._owned_claim(conn, new.customer_id, new.claim_no)
            self._open(claim, "book an appointment")
            if new.kind is AppointmentKind.INJURY_MEDIATION and self._reported_unhurt(conn, claim):
                raise ClaimStateError(
                    f"claim_no: {new.claim_no} was reported with nobody injured; injury "
                    "mediation for it is booked by an agent"
                )
            self.serialise(conn, f"ss-slot:{new.kind.value}:{start.astimezone(UTC).isoformat()}")
            # the insert comes before the counts: on SQLite it takes the write lock, so the
            # counts see every committed booking and no other booking commits in between
            appointment_id = self._insert(
                conn,
                table,
                customer_id=new.customer_id,
                claim_no=new.claim_no,
                kind=new.kind.value,
                slot_start=start,
                slot_end=start + step,
                contact_phone=new.contact_phone,
                notes=new.notes,
                state=AppointmentState.BOOKED.value,
                created_at=when,
            )
            booked = table.c.state == AppointmentState.BOOKED.value
            same_kind = conn.execute(
                select(func.count()).where(
                    table.c.claim_no == new.claim_no, table.c.kind == new.kind.value, booked
                )
            ).scalar_one()
            if same_kind > 1:
                raise ClaimStateError(
                    f"claim_no: {new.claim_no} has a booked {new.kind.value} appointment already"
                )
            in_slot = conn.execute(
                select(func.count()).where(
                    table.c.kind == new.kind.value, table.c.slot_start == start, booked
                )
            ).scalar_one()
            if in_slot > self.slots.capacity[new.kind]:
                raise SlotUnavailableError(f"slot_start: {start.isoformat()} is full")
            words = "在线查勘" if new.kind is AppointmentKind.ONLINE_SURVEY else "人伤调解"
            self._history(
                conn,
                new.customer_id,
                when,
                "自助服务",
                f"预约{words} {new.claim_no} {start:%Y-%m-%d %H:%M}",
                "已预约",
            )
            self._audit.record(
                f"customer:{new.customer_id}",
                "selfservice.book",
                new.claim_no,
                f"#{appointment_id} {new.kind.value} at {start.isoformat()}",
                connection=conn,
                at=when,
            )
            row = conn.execute(select(table).where(table.c.id == appointment_id)).one()
        return appointment_record(row)

    def _check_slot(self, kind: AppointmentKind, start: datetime, when: datetime) -> None:
        if start <= when:
            raise SlotUnavailableError(f"slot_start: {start.isoformat()} is not in the future")
        if start not in self.slots.starts(start.date(), self._zone):
            raise SlotUnavailableError(
                f"slot_start: {start.isoformat()} is not a slot start "
                f"({self.slots.opens:%H:%M}–{self.slots.closes:%H:%M}, "
                f"every {self.slots.slot_minutes} min)"
            )
        today = when.astimezone(self._zone).date()
        if start.date() > today + timedelta(days=self.slots.horizon_days):
            raise SlotUnavailableError(
                f"slot_start: bookings open {self.slots.horizon_days} days ahead "
                f"(got {start.isoformat()})"
            )

    def cancel(
        self, customer_id: str, appointment_id: int, now: datetime | None = None
    ) -> Appointment:
        """Cancel one of the customer's booked appointments (its place is free again).

        Raises:
            AppointmentNotFoundError: no such appointment of this customer.
            SlotUnavailableError: it was cancelled already, or its slot has started.
        """
        when = now or datetime.now(UTC)
        table = selfservice_appointments
        with self.transaction() as conn:
            changed = conn.execute(
                update(table)
                .where(
                    table.c.id == appointment_id,
                    table.c.customer_id == customer_id,
                    table.c.state == AppointmentState.BOOKED.value,
                    table.c.slot_start > when,
                )
                .values(state=AppointmentState.CANCELLED.value, cancelled_at=when)
            ).rowcount
            row = conn.execute(
                select(table).where(
                    table.c.id == appointment_id, table.c.customer_id == customer_id
                )
            ).first()
            if row is None:
                raise AppointmentNotFoundError(
                    f"appointment_id: no appointment {appointment_id} of {customer_id}"
                )
            if not changed:
                raise SlotUnavailableError(
                    f"appointment {appointment_id} is {row.state} or its slot has started"
                )
            self._history(
                conn, customer_id, when, "自助服务", f"取消预约 {row.claim_no}", "已取消预约"
            )
            self._audit.record(
                f"customer:{customer_id}",
                "selfservice.cancel",
                row.claim_no,
                f"#{appointment_id} {row.kind}",
                connection=conn,
                at=when,
            )
        return appointment_record(row)

    # ----- 撤案申请 -------------------------------------------------------------------------

    def request_withdrawal(
        self, new: NewWithdrawal, now: datetime | None = None
    ) -> WithdrawalRequest:
        """Ask to withdraw one of the customer's claims; it waits for a person (``pending``).

        Raises:
            ClaimNotOwnedError: unknown claim, or another customer's.
            ClaimStateError: the claim is paid (支付) or withdrawn already.
            WithdrawalStateError: the claim has a pending request already.
        """
        when = now or datetime.now(UTC)
        table = selfservice_withdrawals
        with self.transaction() as conn:
            claim = self._owned_claim(conn, new.customer_id, new.claim_no)
            self._open(claim, "withdraw")
            self.serialise(conn, f"ss-withdraw:{new.claim_no}")
            # insert, then count: the same write-before-count rule as the slot capacity
            request_id = self._insert(
                conn,
                table,
                customer_id=new.customer_id,
                claim_no=new.claim_no,
                reason=new.reason,
                state=WithdrawalState.PENDING.value,
                stage_before=claim.stage,
                requested_at=when,
            )
            pending = conn.execute(
                select(func.count()).where(
                    table.c.claim_no == new.claim_no,
                    table.c.state == WithdrawalState.PENDING.value,
                )
            ).scalar_one()
            if pending > 1:
                raise WithdrawalStateError(
                    f"claim_no: {new.claim_no} has a withdrawal request waiting already"
                )
            self._history(
                conn, new.customer_id, when, "自助服务", f"撤案申请 {new.claim_no}", "撤案待确认"
            )
            self._audit.record(
                f"customer:{new.customer_id}",
                "selfservice.withdraw",
                new.claim_no,
                f"#{request_id} at stage {claim.stage}",  # the reason is the customer's words
                connection=conn,
                at=when,
            )
        return self.withdrawal(request_id)

    def decide(
        self,
        request_id: int,
        by_user: str,
        approve: bool,
        note: str = "",
        now: datetime | None = None,
    ) -> WithdrawalRequest:
        """A person (an agent or supervisor; the caller checks the role) confirms or refuses a
        pending withdrawal. Approval moves the claim to 已撤案 with a timeline event; a refusal
        needs a note, which the customer is told.

        Raises:
            InvalidSelfServiceInputError: no person named; a refusal without a note.
            WithdrawalNotFoundError: unknown id.
            WithdrawalStateError: decided already.
            ClaimStateError: the claim was paid in the meantime (approval only).
        """
        who = by_user.strip()
        if not who:
            raise InvalidSelfServiceInputError("by_user", by_user, "a person decides")
        when = now or datetime.now(UTC)
        table = selfservice_withdrawals
        state = WithdrawalState.APPROVED if approve else WithdrawalState.REFUSED
        with self.transaction() as conn:
            # an unknown request is that (404) whatever else is wrong with the decision
            if conn.execute(select(table.c.id).where(table.c.id == request_id)).first() is None:
                raise WithdrawalNotFoundError(f"request_id: no withdrawal request {request_id}")
            words = _words(note, "note", required=not approve)
            changed = conn.execute(
                update(table)
                .where(table.c.id == request_id, table.c.state == WithdrawalState.PENDING.value)
                .values(state=state.value, decided_by=who, decided_at=when, note=words or None)
            ).rowcount
            row = conn.execute(select(table).where(table.c.id == request_id)).first()
            if row is None:
                raise WithdrawalNotFoundError(f"request_id: no withdrawal request {request_id}")
            if not changed:
                raise WithdrawalStateError(
                    f"withdrawal request {request_id} is {row.state} already"
                )
            if approve:
                claim = self._owned_claim(conn, row.customer_id, row.claim_no)
                self._open(claim, "withdraw")
                event = {
                    "stage": WITHDRAWN_STAGE,
                    "at": when.isoformat(),
                    "note": f"客户申请撤案，{who}确认" + (f"：{words}" if words else ""),
                }
                conn.execute(
                    update(claims)
                    .where(claims.c.claim_no == row.claim_no)
                    .values(
                        stage=WITHDRAWN_STAGE,
                        timeline=[e.model_dump(mode="json") for e in claim.timeline] + [event],
                    )
                )
                conn.execute(
                    update(selfservice_appointments)
                    .where(
                        selfservice_appointments.c.claim_no == row.claim_no,
                        selfservice_appointments.c.state == AppointmentState.BOOKED.value,
                    )
                    .values(state=AppointmentState.CANCELLED.value, cancelled_at=when)
                )
            self._history(
                conn,
                row.customer_id,
                when,
                "自助服务",
                f"撤案申请 {row.claim_no}" + ("已确认" if approve else f"未通过：{words}"),
                "已撤案" if approve else "撤案未通过",
                agent=who,
            )
            self._audit.record(
                who,
                f"selfservice.withdrawal.{state.value}",
                row.claim_no,
                f"#{request_id} for {row.customer_id}" + (f": {words}" if words else ""),
                connection=conn,
                at=when,
            )
        return self.withdrawal(request_id)

    def withdrawal(self, request_id: int) -> WithdrawalRequest:
        """One withdrawal request.

        Raises:
            WithdrawalNotFoundError: unknown id.
        """
        table = selfservice_withdrawals
        with self.reading() as conn:
            row = conn.execute(select(table).where(table.c.id == request_id)).first()
        if row is None:
            raise WithdrawalNotFoundError(f"request_id: no withdrawal request {request_id}")
        return withdrawal_record(row)

    def withdrawals(
        self, state: WithdrawalState | None = WithdrawalState.PENDING
    ) -> list[WithdrawalRequest]:
        """Withdrawal requests in a state (every state: None), oldest first."""
        table = selfservice_withdrawals
        query = select(table).order_by(table.c.requested_at, table.c.id)
        if state is not None:
            query = query.where(table.c.state == state.value)
        with self.reading() as conn:
            return [withdrawal_record(row) for row in conn.execute(query)]

    # ----- reading --------------------------------------------------------------------------

    def records_for(self, customer_id: str) -> SelfServiceSummary:
        """The customer's self-service records, newest first (the profile panel's section).

        Raises:
            CustomerNotFoundError: unknown customer.
        """
        with self.reading() as conn:
            exists = conn.execute(
                select(customers.c.id).where(customers.c.id == customer_id)
            ).first()
            if exists is None:
                raise CustomerNotFoundError(f"no customer {customer_id!r}")
            return self_service_summary(conn, customer_id)

    # ----- helpers --------------------------------------------------------------------------

    def _claim(self, claim_no: str) -> Claim:
        with self.reading() as conn:
            row = conn.execute(select(claims).where(claims.c.claim_no == claim_no)).one()
        return Claim.model_validate(row._mapping)

    @staticmethod
    def _owned_claim(conn: Connection, customer_id: str, claim_no: str) -> Claim:
        row = conn.execute(
            select(claims).where(claims.c.claim_no == claim_no, claims.c.customer_id == customer_id)
        ).first()
        if row is None:
            raise ClaimNotOwnedError(f"claim_no: no claim {claim_no!r} of customer {customer_id}")
        return Claim.model_validate(row._mapping)

    @staticmethod
    def _open(claim: Claim, what: str) -> None:
        if claim.stage == WITHDRAWN_STAGE:
            raise ClaimStateError(f"claim_no: {claim.claim_no} is withdrawn; cannot {what}")
        if claim.stage == PAID_STAGE:
            raise ClaimStateError(
                f"claim_no: {claim.claim_no} is at {PAID_STAGE} (paid); cannot {what}"
            )

    @staticmethod
    def _reported_unhurt(conn: Connection, claim: Claim) -> bool:
        """Whether the customer's own self-service report said nobody was injured (a claim
        reported another way says nothing either way)."""
        injured = conn.execute(
            select(selfservice_reports.c.injuries).where(
                selfservice_reports.c.claim_no == claim.claim_no
            )
        ).scalar()
        return injured is not None and not injured

    @staticmethod
    def _insert(conn: Connection, table: Any, **values: Any) -> int:
        key = conn.execute(insert(table).values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    @staticmethod
    def _history(
        conn: Connection,
        customer_id: str,
        when: datetime,
        channel: str,
        summary: str,
        disposition: str,
        agent: str = "",
    ) -> None:
        """A line in the customer's contact history, so the agent's timeline shows it."""
        conn.execute(
            insert(interactions).values(
                customer_id=customer_id,
                at=when,
                channel=channel[:16],
                summary=summary,
                disposition=disposition[:32],
                agent=agent[:32],
            )
        )
