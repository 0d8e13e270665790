"""What the self-service flows do in the customer's records: files received in the chat, the
record a finished flow asks for (a claim report, an appointment, an upload, a withdrawal
request), the slots offered and a claim's stage for 理赔查询.

The flows themselves are pure (``chatbot.flows``); this is the one place that turns their
requests into the stores' records, each written, audited and on the agent's profile at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chatbot.flows import (
    AppointmentRequest,
    ClaimReportRequest,
    FlowKey,
    PrivilegeBookingRequest,
    RecordRequest,
    RecordType,
    UploadRequest,
    WithdrawalRequest,
)
from chatbot.models import Conversation, RecordRef
from core.errors import InvalidQueryError, PolicyDeskError
from customers.bookings import PrivilegeNotIncludedError, PrivilegeService, QuotaExhaustedError
from customers.models import AppointmentKind, OtherParty, RevealableField
from customers.selfservice import (
    NewAppointment,
    NewClaimReport,
    NewWithdrawal,
    SelfServiceRecords,
)
from customers.store import CustomerStore
from customers.uploads import NewUpload, UploadedDocument, UploadNotFoundError, UploadStore

MAX_ATTACHMENTS = 20
"""Files one message may carry."""
OFFERED_SLOTS = 2
"""Appointment slots the bot offers at a time (the first free ones from tomorrow)."""
_KINDS = {"survey": AppointmentKind.ONLINE_SURVEY, "mediation": AppointmentKind.INJURY_MEDIATION}
_UNKNOWN_PARTY = {"none", "unknown", ""}


class RecordRefusedError(PolicyDeskError):
    """The customer may not have what the flow asked for (a privilege their tier does not
    include, or this year's quota is used up): told to them, not a reason for a person."""


class SelfServiceDesk:
    """The records behind the chatbot's flows.

    Args:
        records: reported claims, appointments, withdrawal requests.
        uploads: the files customers send.
        customers: profiles (and the phone an appointment is confirmed on).
        privileges: member privilege bookings against the tier's yearly quota.
        zone: the centre's time zone (slots are offered on its calendar).
    """

    def __init__(
        self,
        records: SelfServiceRecords,
        uploads: UploadStore,
        customers: CustomerStore,
        privileges: PrivilegeService,
        zone: ZoneInfo,
    ) -> None:
        self._records = records
        self._uploads = uploads
        self._customers = customers
        self._privileges = privileges
        self._zone = zone

    # ----- files --------------------------------------------------------------------------

    def receive(
        self,
        conversation: Conversation,
        data: bytes,
        filename: str,
        declared_type: str | None = None,
        claim_no: str | None = None,
    ) -> UploadedDocument:
        """Store a file the customer sent in this conversation.

        A photo keeps where it was taken only when a claim needs it: sent for one of the
        customer's claims, or while the customer is reporting an accident.

        Raises:
            UploadRejectedError: the file is not accepted (the message says why).
            UploadLinkError: ``claim_no`` is not the verified customer's claim.
        """
        reporting = conversation.flow is not None and conversation.flow.flow is FlowKey.REPORT_CLAIM
        return self._uploads.add(
            NewUpload(
                data=data,
                filename=filename,
                declared_type=declared_type,
                claim_no=claim_no,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                keep_location=claim_no is not None or reporting,
            )
        )

    def attachments(self, conversation_id: str, upload_ids: Sequence[str]) -> list[str]:
        """The upload ids a message carries, each checked to be a file sent in this
        conversation.

        Raises:
            InvalidQueryError: too many, or an id that is not one of this conversation's files.
        """
        ids = list(dict.fromkeys(i.strip() for i in upload_ids if i.strip()))
        if len(ids) > MAX_ATTACHMENTS:
            raise InvalidQueryError(
                f"a message carries at most {MAX_ATTACHMENTS} files, got {len(ids)}"
            )
        for upload_id in ids:
            try:
                document = self._uploads.get(upload_id)
            except UploadNotFoundError:
                document = None
            if document is None or document.conversation_id != conversation_id:
                raise InvalidQueryError(
                    f"attachment {upload_id!r} is not a file sent in this conversation"
                )
        return ids

    # ----- what a flow needs to know --------------------------------------------------------

    def offered_slots(self, kind: str, now: datetime) -> list[datetime]:
        """The first free slots from tomorrow (the centre's calendar), at most
        ``OFFERED_SLOTS``; none within the booking horizon: empty."""
        appointment = _KINDS[kind]
        day = now.astimezone(self._zone).date() + timedelta(days=1)
        offered: list[datetime] = []
        for _ in range(self._records.slots.horizon_days):
            free = [s.start for s in self._records.available_slots(appointment, day, now) if s.free]
            offered.extend(free[: OFFERED_SLOTS - len(offered)])
            if len(offered) >= OFFERED_SLOTS:
                break
            day += timedelta(days=1)
        return offered

    # ----- what a finished flow writes ------------------------------------------------------

    def write(self, request: RecordRequest, conversation: Conversation, now: datetime) -> RecordRef:
        """Write the record a finished flow asks for.

        Raises:
            RecordRefusedError: a privilege the tier does not include or with no use left.
            SelfServiceError: the store refuses it (the message names the field and why).
            UploadLinkError: a file cannot be linked to the claim.
        """
        if isinstance(request, PrivilegeBookingRequest):
            try:
                booking = self._privileges.book(
                    request.customer_id,
                    request.privilege,
                    request.for_when,
                    by="chatbot",
                    place=request.place,
                )
            except (PrivilegeNotIncludedError, QuotaExhaustedError) as exc:
                # the message names the privilege by its Chinese name; its key is for staff
                raise RecordRefusedError(re.sub(r"（[a-z_]+）", "", str(exc))) from exc
            return RecordRef(type=RecordType.PRIVILEGE_BOOKING, id=str(booking.id))
        if isinstance(request, ClaimReportRequest):
            return self._report(request, conversation, now)
        if isinstance(request, AppointmentRequest):
            phone = self._customers.identifier(request.customer_id, RevealableField.PHONE)
            appointment = self._records.book(
                NewAppointment(
                    customer_id=request.customer_id,
                    claim_no=request.claim_no,
                    kind=_KINDS[request.kind],
                    slot_start=request.start,
                    contact_phone=phone,
                    notes=" ".join(p for p in (request.place or "", request.note) if p),
                ),
                now=now,
            )
            return RecordRef(type=RecordType.APPOINTMENT, id=str(appointment.id))
        if isinstance(request, UploadRequest):
            linked = self._uploads.link(request.upload_ids, request.claim_no, request.customer_id)
            return RecordRef(type=RecordType.UPLOAD, id=",".join(d.id for d in linked))
        assert isinstance(request, WithdrawalRequest)
        withdrawal = self._records.request_withdrawal(
            NewWithdrawal(
                customer_id=request.customer_id, claim_no=request.claim_no, reason=request.reason
            ),
            now=now,
        )
        return RecordRef(type=RecordType.WITHDRAWAL, id=str(withdrawal.id))

    def _report(
        self, request: ClaimReportRequest, conversation: Conversation, now: datetime
    ) -> RecordRef:
        profile = self._customers.profile(request.customer_id)
        policy = next(
            (p for p in profile.policies if p.policy_no == request.policy_no),
            profile.policies[0] if profile.policies else None,
        )
        party = request.other_party.strip()
        located = [
            d.gps for d in (self._uploads.get(i) for i in request.upload_ids) if d.gps is not None
        ]
        claim = self._records.report_claim(
            NewClaimReport(
                customer_id=request.customer_id,
                policy_no=policy.policy_no if policy else "",
                plate=request.plate or (policy.plate if policy else ""),
                accident_at=request.accident_at,
                place=request.place,
                what_happened=request.description,
                injuries=request.injuries,
                injury_note="客户在自助报案中说明有人受伤" if request.injuries else "",
                other_party=None if party in _UNKNOWN_PARTY else OtherParty(plate=party),
                photo_ids=request.upload_ids,
                location={"lat": located[0].lat, "lon": located[0].lon} if located else None,
                channel=conversation.channel,
                conversation_id=conversation.id,
            ),
            now=now,
        )
        self._uploads.link(request.upload_ids, claim.claim_no, request.customer_id)
        return RecordRef(type=RecordType.CLAIM_REPORT, id=claim.claim_no)

    def claim_stage(self, customer_id: str, claim_no: str) -> tuple[str, str] | None:
        """A claim of the customer's: its number and stage; None when it is not theirs."""
        claim = next(
            (c for c in self._customers.profile(customer_id).claims if c.claim_no == claim_no),
            None,
        )
        return (claim.claim_no, claim.stage) if claim is not None else None
