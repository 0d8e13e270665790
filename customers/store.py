"""Customer records in SQL (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

The store holds full identifiers (it is the system of record); everything it returns to callers
is a masked ``CustomerProfile`` / ``CustomerSummary``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Engine,
    func,
    insert,
    or_,
    select,
)

from core.errors import PolicyDeskError
from core.masking import mask_id_number, mask_name, mask_phone, salutation
from core.settings import PROJECT_ROOT
from customers.models import (
    ERASED_NAME,
    Claim,
    CustomerProfile,
    CustomerSummary,
    Interaction,
    MemberTier,
    Policy,
    RevealableField,
    Vehicle,
)
from customers.privileges import PrivilegeBook, load_privileges
from customers.records import self_service_summary
from db.schema import claims, customers, interactions, policies, vehicles
from db.store import SqlStore


class CustomerNotFoundError(PolicyDeskError):
    """No customer with that id."""


def _shown_name(name: str) -> str:
    """The masked name; an erased customer's marker as it is."""
    return name if name == ERASED_NAME else mask_name(name)


DEFAULT_PRIVILEGES_FILE = PROJECT_ROOT / "data" / "members" / "privileges.yaml"


class CustomerStore(SqlStore):
    """Reads and writes customer records; returns masked views.

    Args:
        engine: the shared engine.
        privileges: the current member privileges (a profile lists its tier's); without it, the
            shipped file, read at the first profile.
    """

    def __init__(
        self, engine: Engine, privileges: Callable[[], PrivilegeBook] | None = None
    ) -> None:
        super().__init__(engine)
        self._privileges = privileges
        self._shipped: PrivilegeBook | None = None
        self._lock = threading.Lock()

    def privilege_book(self) -> PrivilegeBook:
        """The member privileges the profiles list.

        Raises:
            ConfigurationError: the file is missing or invalid.
        """
        if self._privileges is not None:
            return self._privileges()
        with self._lock:
            if self._shipped is None:
                self._shipped = load_privileges(DEFAULT_PRIVILEGES_FILE)
            return self._shipped

    def count(self) -> int:
        """Number of customers."""
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(customers)).scalar_one())

    def load_records(self, records: dict[str, list[dict[str, Any]]]) -> None:
        """Insert generated records in one transaction (all or nothing)."""
        with self.transaction() as conn:
            for table in (customers, vehicles, policies, claims, interactions):
                rows = records.get(table.name, [])
                if rows:
                    conn.execute(insert(table), rows)

    def by_phone(self, number: str) -> str | None:
        """The one customer whose phone is this number (a caller's screen pop), else None: an
        unknown number, or one several customers share, is an anonymous call.

        Args:
            number: the caller's number as the telephony side sends it (spaces, +86 allowed).
        """
        digits = "".join(ch for ch in number if ch.isdigit())
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if not digits:
            return None
        with self.reading() as conn:
            rows = conn.execute(select(customers.c.id).where(customers.c.phone == digits)).all()
        return str(rows[0].id) if len(rows) == 1 else None

    def search(self, query: str, limit: int = 20) -> list[CustomerSummary]:
        """Customers whose phone, plate, policy number, claim number or id matches.

        A phone matches in full or by its last four digits; plates ignore case and spaces.
        """
        key = "".join(query.split()).upper()
        if not key:
            return []
        with self.reading() as conn:
            ids: list[str] = []
            statements = [
                select(customers.c.id).where(or_(customers.c.id == key, customers.c.phone == key)),
                select(vehicles.c.customer_id).where(vehicles.c.plate == key),
                select(policies.c.customer_id).where(policies.c.policy_no == key),
                select(claims.c.customer_id).where(claims.c.claim_no == key),
            ]
            if key.isdigit() and len(key) == 4:
                statements.append(select(customers.c.id).where(customers.c.phone.endswith(key)))
            for statement in statements:
                ids += [row[0] for row in conn.execute(statement)]
            unique = list(dict.fromkeys(ids))[:limit]
            return [self._summary(conn, cid) for cid in unique]

    def verify(self, number: str, phone_last4: str) -> str | None:
        """The customer holding this policy or claim number whose phone ends in these digits.

        A light identity check for self-service: it answers only "this customer" or nothing, and
        says nothing about which part did not match.

        Args:
            number: a policy number or a claim number.
            phone_last4: the last four digits of the phone on record.

        Returns:
            The customer id, or None when the pair does not match a customer.
        """
        key = "".join(number.split()).upper()
        digits = phone_last4.strip()
        if not key or len(digits) != 4 or not digits.isdigit():
            return None
        owners = (
            select(policies.c.customer_id)
            .where(policies.c.policy_no == key)
            .union(select(claims.c.customer_id).where(claims.c.claim_no == key))
        )
        with self.reading() as conn:
            row = conn.execute(
                select(customers.c.id, customers.c.phone).where(customers.c.id.in_(owners))
            ).first()
        if row is None or not str(row.phone).endswith(digits):
            return None
        return str(row.id)

    def identifier(self, customer_id: str, field: RevealableField) -> str:
        """A customer's full phone or ID number: only for the audited reveal
        (``assist.reveal``); every view this store returns is masked.

        Raises:
            CustomerNotFoundError: unknown id.
        """
        wanted = RevealableField(field)
        column = customers.c.phone if wanted is RevealableField.PHONE else customers.c.id_number
        with self.reading() as conn:
            value = conn.execute(select(column).where(customers.c.id == customer_id)).scalar()
        if value is None:
            raise CustomerNotFoundError(f"no customer {customer_id!r}")
        return str(value)

    def list(self, limit: int = 50, offset: int = 0) -> list[CustomerSummary]:
        """Customers in id order (for pickers)."""
        with self.reading() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    select(customers.c.id).order_by(customers.c.id).limit(limit).offset(offset)
                )
            ]
            return [self._summary(conn, cid) for cid in ids]

    def tier(self, customer_id: str) -> MemberTier:
        """The customer's membership tier (what the guard checks an agent's offers against).

        Raises:
            CustomerNotFoundError: unknown id.
        """
        with self.reading() as conn:
            value = conn.execute(
                select(customers.c.tier).where(customers.c.id == customer_id)
            ).scalar()
        if value is None:
            raise CustomerNotFoundError(f"no customer {customer_id!r}")
        return MemberTier(value)

    def profile(self, customer_id: str) -> CustomerProfile:
        """The masked profile.

        Raises:
            CustomerNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
            if row is None:
                raise CustomerNotFoundError(f"no customer {customer_id!r}")
            tier = MemberTier(row.tier)
            vehicle_rows = conn.execute(
                select(vehicles).where(vehicles.c.customer_id == customer_id)
            ).all()
            policy_rows = conn.execute(
                select(policies)
                .where(policies.c.customer_id == customer_id)
                .order_by(policies.c.end.desc())
            ).all()
            claim_rows = conn.execute(
                select(claims)
                .where(claims.c.customer_id == customer_id)
                .order_by(claims.c.reported_at.desc())
            ).all()
            interaction_rows = conn.execute(
                select(interactions)
                .where(interactions.c.customer_id == customer_id)
                .order_by(interactions.c.at.desc())
            ).all()
            self_service = self_service_summary(conn, customer_id)
        return CustomerProfile(
            id=row.id,
            name=_shown_name(row.name),
            salutation="您" if row.name == ERASED_NAME else salutation(row.name, row.gender),
            phone=mask_phone(row.phone),
            id_number=mask_id_number(row.id_number),
            city=row.city,
            tier=tier,
            privileges=self.privilege_book().labels(tier),
            vehicles=[Vehicle.model_validate(v._mapping) for v in vehicle_rows],
            policies=[Policy.model_validate(p._mapping) for p in policy_rows],
            claims=[Claim.model_validate(c._mapping) for c in claim_rows],
            interactions=[Interaction.model_validate(i._mapping) for i in interaction_rows],
            self_service=self_service,
        )

    def add_interaction(
        self,
        customer_id: str,
        summary: str,
        disposition: str,
        channel: str = "电话",
        agent: str = "",
        at: datetime | None = None,
    ) -> None:
        """Save a call summary and disposition to the customer's history.

        Raises:
            CustomerNotFoundError: unknown id.
            PolicyDeskError: empty summary or disposition.
        """
        if not summary.strip() or not disposition.strip():
            raise PolicyDeskError("a call record needs a summary and a disposition")
        with self.transaction() as conn:
            exists = conn.execute(
                select(customers.c.id).where(customers.c.id == customer_id)
            ).first()
            if exists is None:
                raise CustomerNotFoundError(f"no customer {customer_id!r}")
            conn.execute(
                insert(interactions).values(
                    customer_id=customer_id,
                    at=at or datetime.now(UTC),
                    channel=channel,
                    summary=summary.strip(),
                    disposition=disposition.strip(),
                    agent=agent,
                )
            )

    def _summary(self, conn: Any, customer_id: str) -> CustomerSummary:
        row = conn.execute(select(customers).where(customers.c.id == customer_id)).first()
        plates = [
            r[0]
            for r in conn.execute(
                select(vehicles.c.plate).where(vehicles.c.customer_id == customer_id)
            )
        ]
        return CustomerSummary(
            id=row.id,
            name=_shown_name(row.name),
            phone=mask_phone(row.phone),
            tier=MemberTier(row.tier),
            plates=plates,
        )
