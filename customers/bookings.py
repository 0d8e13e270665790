"""Booking a member privilege (代驾, 道路救援, 年检代办, 理赔顾问) against the tier's yearly quota.

A booking counts against the calendar year (in the centre's time zone) of the day it is for: a
designated driver booked on 30 December for 2 January uses next year's quota. The check and the
write are one transaction serialised per customer, so two parallel bookings never exceed the
quota. A cancelled booking gives its use back. ``PrivilegeService`` adds the audit trail and
the profile's per-privilege used/left view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, func, insert, select, update

from audit.log import AuditLog
from core.errors import PolicyDeskError
from customers.models import AwareTime, MemberTier
from customers.privileges import PrivilegeBook
from customers.store import CustomerNotFoundError
from db.schema import customers, privilege_bookings
from db.store import SqlStore

CHATBOT = "chatbot"
"""``by`` of a booking the self-service chatbot made."""

MAX_NOTE_CHARS = 300
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
"""A booking's year outside these is a typo, not a plan."""


class BookingState(StrEnum):
    """A booking is live until cancelled; a cancelled one does not count."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class PrivilegeNotIncludedError(PolicyDeskError):
    """The customer's tier does not include the privilege (names both)."""

    def __init__(self, tier: MemberTier, privilege: str, name: str) -> None:
        super().__init__(f"{tier.value}会员不包含{name}（{privilege}）")
        self.tier = tier
        self.privilege = privilege


class QuotaExhaustedError(PolicyDeskError):
    """This year's quota of the privilege is used up (names tier, privilege, used/quota)."""

    def __init__(self, tier: MemberTier, privilege: str, name: str, used: int, quota: int) -> None:
        super().__init__(
            f"{tier.value}会员{name}（{privilege}）今年已用{used}/{quota}次，额度已用完"
        )
        self.tier = tier
        self.privilege = privilege
        self.used = used
        self.quota = quota


class BookingNotFoundError(PolicyDeskError):
    """No booking with that id."""


class InvalidBookingError(PolicyDeskError):
    """A booking request PolicyDesk cannot take (no booker, a note too long); names the field."""


class PrivilegeBooking(BaseModel):
    """One booked use of a privilege."""

    id: int
    customer_id: str
    privilege: str
    tier: MemberTier = Field(description="the customer's tier when it was booked")
    year: int = Field(description="the calendar year whose quota it counts against")
    for_when: AwareTime
    place: str = ""
    notes: str = ""
    by: str = Field(description="the agent's username, or chatbot")
    booked_at: AwareTime
    state: BookingState = BookingState.BOOKED
    cancelled_at: AwareTime | None = None
    cancelled_by: str | None = None


class PrivilegeUsage(BaseModel):
    """One privilege of the tier: this year's quota, uses and what is left (None: unlimited)."""

    key: str
    name: str
    quota: int | None
    used: int = Field(ge=0)
    left: int | None

    @property
    def display(self) -> str:
        """The profile's wording: 免费酒后代驾 3/4 剩余1; 道路救援 已用2次（不限次）."""
        if self.quota is None:
            return f"{self.name} 已用{self.used}次（不限次）"
        return f"{self.name} {self.used}/{self.quota} 剩余{self.left}"


class PrivilegeUsageReport(BaseModel):
    """A customer's privileges for one calendar year."""

    customer_id: str
    tier: MemberTier
    year: int
    items: list[PrivilegeUsage]


def usage_of(book: PrivilegeBook, tier: MemberTier, used: dict[str, int]) -> list[PrivilegeUsage]:
    """Per privilege the tier includes, the uses and what is left (pure).

    Args:
        book: the privileges.
        tier: the customer's tier.
        used: live bookings per privilege key this year (a key the tier no longer includes,
            e.g. after a downgrade, is left out).
    """
    items = []
    for allowance in book.allowances(tier):
        count = used.get(allowance.key, 0)
        left = None if allowance.quota is None else max(allowance.quota - count, 0)
        items.append(
            PrivilegeUsage(
                key=allowance.key, name=allowance.name, quota=allowance.quota, used=count, left=left
            )
        )
    return items


def _row(row: object) -> PrivilegeBooking:
    return PrivilegeBooking.model_validate(row._mapping)  # type: ignore[attr-defined]


class PrivilegeBookingStore(SqlStore):
    """Privilege bookings in SQL, counted against the tier's yearly quotas.

    Args:
        engine: the shared engine.
        privileges: the current member privileges.
        zone: the centre's time zone (which calendar year a booking counts in).
    """

    def __init__(
        self, engine: Engine, privileges: Callable[[], PrivilegeBook], zone: ZoneInfo
    ) -> None:
        super().__init__(engine)
        self._privileges = privileges
        self._zone = zone

    def year_of(self, when: datetime) -> int:
        """The calendar year (centre time zone) a moment falls in."""
        aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        return aware.astimezone(self._zone).year

    def book(
        self,
        customer_id: str,
        privilege: str,
        for_when: datetime,
        by: str,
        place: str = "",
        notes: str = "",
        now: datetime | None = None,
    ) -> PrivilegeBooking:
        """Book one use of a privilege, if the customer's tier includes it and the quota of the
        year of ``for_when`` has a use left.

        Raises:
            PrivilegeError: an unknown privilege.
            CustomerNotFoundError: unknown customer.
            PrivilegeNotIncludedError: the tier does not include it.
            QuotaExhaustedError: this year's quota is used up.
            InvalidBookingError: no booker, or a place or note too long.
        """
        book = self._privileges()
        name = book.rule(privilege).name
        if not by.strip():
            raise InvalidBookingError("a booking needs who made it (by)")
        for field, value in (("place", place), ("notes", notes)):
            if len(value) > MAX_NOTE_CHARS:
                raise InvalidBookingError(f"{field} is longer than {MAX_NOTE_CHARS} characters")
        when = now or datetime.now(UTC)
        aware = for_when if for_when.tzinfo is not None else for_when.replace(tzinfo=UTC)
        try:
            year = self.year_of(aware)
        except OverflowError:
            year = 0
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise InvalidBookingError(
                f"for_when {for_when.isoformat()} is not in the years {EARLIEST_YEAR}-{LATEST_YEAR}"
            )
        # refuse before writing when the customer is unknown or the tier lacks it (on PostgreSQL
        # a row for an unknown customer would break the foreign key); checked again below
        with self.reading() as conn:
            seen = self._tier(conn, customer_id)
        if book.allowance(seen, privilege) is None:
            raise PrivilegeNotIncludedError(seen, privilege, name)
        with self.transaction() as conn:
            self.serialise(conn, f"privilege:{customer_id}")
            # write first: on SQLite the first write takes the one write lock, so the count
            # below sees every booking committed before it and none can slip in after
            booking_id = conn.execute(
                insert(privilege_bookings)
                .values(
                    customer_id=customer_id,
                    privilege=privilege,
                    tier=seen.value,
                    year=year,
                    for_when=aware,
                    place=place.strip(),
                    notes=notes.strip(),
                    by=by.strip(),
                    booked_at=when,
                    state=BookingState.BOOKED.value,
                )
                .returning(privilege_bookings.c.id)
            ).scalar_one()
            tier = self._tier(conn, customer_id)  # again, inside the lock
            allowance = book.allowance(tier, privilege)
            if allowance is None:
                raise PrivilegeNotIncludedError(tier, privilege, name)
            if allowance.quota is not None:
                used = self._used(conn, customer_id, year).get(privilege, 0)
                if used > allowance.quota:  # counting the row just written
                    raise QuotaExhaustedError(tier, privilege, name, used - 1, allowance.quota)
            if tier is not seen:  # the tier changed a moment ago
                conn.execute(
                    update(privilege_bookings)
                    .where(privilege_bookings.c.id == booking_id)
                    .values(tier=tier.value)
                )
            row = conn.execute(
                select(privilege_bookings).where(privilege_bookings.c.id == booking_id)
            ).one()
        return _row(row)

    def cancel(self, booking_id: int, by: str, now: datetime | None = None) -> PrivilegeBooking:
        """Cancel a booking: its use goes back to the quota. Cancelling twice changes nothing.

        Raises:
            BookingNotFoundError: unknown booking.
        """
        when = now or datetime.now(UTC)
        with self.transaction() as conn:
            conn.execute(
                update(privilege_bookings)
                .where(
                    privilege_bookings.c.id == booking_id,
                    privilege_bookings.c.state == BookingState.BOOKED.value,
                )
                .values(state=BookingState.CANCELLED.value, cancelled_at=when, cancelled_by=by)
            )
            row = conn.execute(
                select(privilege_bookings).where(privilege_bookings.c.id == booking_id)
            ).first()
        if row is None:
            raise BookingNotFoundError(f"no privilege booking {booking_id}")
        return _row(row)

    def get(self, booking_id: int) -> PrivilegeBooking:
        """One booking.

        Raises:
            BookingNotFoundError: unknown booking.
        """
        with self.reading() as conn:
            row = conn.execute(
                select(privilege_bookings).where(privilege_bookings.c.id == booking_id)
            ).first()
        if row is None:
            raise BookingNotFoundError(f"no privilege booking {booking_id}")
        return _row(row)

    def bookings(self, customer_id: str, year: int | None = None) -> list[PrivilegeBooking]:
        """A customer's bookings (all states), the latest use first; of one year when given."""
        query = select(privilege_bookings).where(privilege_bookings.c.customer_id == customer_id)
        if year is not None:
            query = query.where(privilege_bookings.c.year == year)
        with self.reading() as conn:
            rows = conn.execute(
                query.order_by(privilege_bookings.c.for_when.desc(), privilege_bookings.c.id)
            ).all()
        return [_row(r) for r in rows]

    def usage(self, customer_id: str, year: int) -> PrivilegeUsageReport:
        """Per privilege of the customer's tier: the year's quota, uses and what is left.

        Raises:
            CustomerNotFoundError: unknown customer.
        """
        with self.reading() as conn:
            tier = self._tier(conn, customer_id)
            used = self._used(conn, customer_id, year)
        items = usage_of(self._privileges(), tier, used)
        return PrivilegeUsageReport(customer_id=customer_id, tier=tier, year=year, items=items)

    @staticmethod
    def _tier(conn: Connection, customer_id: str) -> MemberTier:
        value = conn.execute(select(customers.c.tier).where(customers.c.id == customer_id)).scalar()
        if value is None:
            raise CustomerNotFoundError(f"no customer {customer_id!r}")
        return MemberTier(value)

    @staticmethod
    def _used(conn: Connection, customer_id: str, year: int) -> dict[str, int]:
        rows = conn.execute(
            select(privilege_bookings.c.privilege, func.count())
            .where(
                privilege_bookings.c.customer_id == customer_id,
                privilege_bookings.c.year == year,
                privilege_bookings.c.state == BookingState.BOOKED.value,
            )
            .group_by(privilege_bookings.c.privilege)
        ).all()
        return {str(r[0]): int(r[1]) for r in rows}


class PrivilegeService:
    """Booking and cancelling privileges (audited), and this year's usage for the profile.

    Args:
        store: the bookings.
        audit: where bookings and cancellations are recorded.
        clock: now (tests pass a fixed one).
    """

    def __init__(
        self,
        store: PrivilegeBookingStore,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    def usage(self, customer_id: str, year: int | None = None) -> PrivilegeUsageReport:
        """The customer's privileges with this year's (or ``year``'s) used/left.

        Raises:
            CustomerNotFoundError: unknown customer.
        """
        return self._store.usage(customer_id, year or self._store.year_of(self._clock()))

    def book(
        self,
        customer_id: str,
        privilege: str,
        for_when: datetime | None,
        by: str,
        place: str = "",
        notes: str = "",
    ) -> PrivilegeBooking:
        """Book one use (``for_when`` None: now) and record it in the audit log.

        Raises:
            see ``PrivilegeBookingStore.book``.
        """
        now = self._clock()
        booking = self._store.book(
            customer_id, privilege, for_when or now, by, place=place, notes=notes, now=now
        )
        self._audit.record(
            by, "privilege.book", customer_id, f"{privilege} #{booking.id} {booking.year}", at=now
        )
        return booking

    def cancel(self, booking_id: int, by: str, customer_id: str | None = None) -> PrivilegeBooking:
        """Cancel a booking (its use goes back to the quota), audited.

        Args:
            booking_id: the booking.
            by: who cancels it.
            customer_id: the customer it must belong to, when the caller names one.

        Raises:
            BookingNotFoundError: unknown booking, or another customer's.
        """
        if customer_id is not None and self._store.get(booking_id).customer_id != customer_id:
            raise BookingNotFoundError(f"no privilege booking {booking_id} of {customer_id!r}")
        now = self._clock()
        booking = self._store.cancel(booking_id, by, now=now)
        detail = f"{booking.privilege} #{booking_id}"
        self._audit.record(by, "privilege.cancel", booking.customer_id, detail, at=now)
        return booking
