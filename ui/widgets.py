"""Reusable console widgets: knowledge cards, the mood banner, the customer profile."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from calls.approvals import Approval
from core.models import Emotion, Hit, PassageKind
from customers.bookings import PrivilegeUsageReport
from customers.models import CLAIM_STAGES, CustomerProfile, SelfServiceSummary
from customers.uploads import UploadedDocument
from outreach.models import OutboxMessage
from prompts.guard import Finding, FindingSource
from sentiment.mood import CallMood
from ui.format import escape_markdown, highlight_markdown, local_time, stage_track
from ui.i18n import t

KIND_ICONS = {PassageKind.CLAUSE: "📜", PassageKind.CASE: "⚖️", PassageKind.FAQ: "💬"}
PREVIEW_CHARS = 220
COMPACT_PREVIEW_CHARS = 80


def render_said(text: str) -> None:
    """What a customer, caller, agent or bot said, shown as text: markdown, links and images in
    it are not rendered (a customer's image would be a tracking pixel in the agent's inbox).
    Its line breaks stay (a flow's summary reads back one answer a line)."""
    st.markdown(escape_markdown(text).replace("\n", "  \n"))


def render_hit(
    rank: int,
    hit: Hit,
    feedback: Callable[[Hit, bool], None] | None = None,
    key: str = "",
    compact: bool = False,
) -> None:
    """One knowledge card; with ``feedback``, helpful / not-helpful buttons under it.

    ``compact`` (the live console) shows the citation, one line of context and a short preview,
    with the full text one click away, so the top cards fit above the fold.
    """
    limit = COMPACT_PREVIEW_CHARS if compact else PREVIEW_CHARS
    with st.container(border=True):
        head, score = st.columns([5, 1])
        head.markdown(f"**{rank}. {KIND_ICONS[hit.kind]} {hit.citation}**")
        score.caption(f"{t('score')} {hit.score:.2f}")
        context = f"{t('kind_' + hit.kind.value)} · {hit.title}"
        if hit.kind is PassageKind.CASE:
            context += f" · {t('outcome')}：{hit.outcome or '—'} · {t('illustrative')}"
        st.caption(context)
        if hit.answers:
            st.caption(f"↳ {t('answers_part')}：{hit.answers}")
        preview = hit.text if len(hit.text) <= limit else hit.text[:limit] + "…"
        st.markdown(highlight_markdown(preview, hit.matched_terms))
        if hit.matched_terms and not compact:
            st.caption(f"{t('matched')}：{'、'.join(hit.matched_terms)}")
        if len(hit.text) > limit:
            with st.expander(t("full_text")):
                st.markdown(highlight_markdown(hit.text, hit.matched_terms))
        if feedback is not None:
            up, down, _ = st.columns([1, 1, 4])
            up.button("👍", key=f"{key}-up", help=t("helpful"), on_click=feedback, args=(hit, True))
            down.button(
                "👎", key=f"{key}-down", help=t("not_helpful"), on_click=feedback, args=(hit, False)
            )


MOOD_STYLE = {
    Emotion.ANGRY: ("error", "😠"),
    Emotion.ANXIOUS: ("warning", "😟"),
    Emotion.DISSATISFIED: ("warning", "😒"),
    Emotion.NEUTRAL: ("info", "😐"),
    Emotion.POSITIVE: ("success", "🙂"),
}


def finding_line(finding: Finding) -> str:
    """A guard finding's reason, saying when it comes from the model and how sure it is."""
    if finding.source is FindingSource.MODEL and finding.confidence is not None:
        return f"⛔ {finding.reason}（{t('model_finding')} {finding.confidence:.0%}）"
    return f"⛔ {finding.reason}"


def mood_words(mood: CallMood) -> str:
    """The caller's mood as an agent reads it at a glance: the label, how strong when upset,
    and where it is heading in words that agree with the label (愤怒（强烈）· 持续)."""
    words = t("emotion_" + mood.current.value)
    if mood.level is not None:
        words = t("mood_with_level").format(emotion=words, level=t("level_" + mood.level.value))
    if mood.course is not None:
        words += f" · {t('course_' + mood.course.value)}"
    return words


def render_mood(mood: CallMood) -> None:
    """The mood banner: the caller's emotion, how strong, and which way it is moving."""
    style, icon = MOOD_STYLE[mood.current]
    getattr(st, style)(f"{icon} {t('mood')}：**{mood_words(mood)}**")


ClaimDocuments = Callable[[str], Sequence[tuple[UploadedDocument, bytes | None]]]
"""A claim's uploads with each photo's thumbnail (None for a document)."""
THUMBNAILS_PER_ROW = 4


def render_profile(
    profile: CustomerProfile,
    usage: PrivilegeUsageReport | None = None,
    claim_documents: ClaimDocuments | None = None,
) -> None:
    """The caller's masked profile: tier and privileges (with this year's used/left when
    ``usage`` is given: 免费酒后代驾 3/4 剩余1), vehicles, policies, claim timelines, and each
    claim's photos (thumbnails) and documents when ``claim_documents`` is given."""
    st.markdown(f"**{profile.salutation}**（{profile.name}） · {profile.phone} · {profile.city}")
    st.caption(f"{t('id_number')}：{profile.id_number}")
    privileges = [u.display for u in usage.items] if usage is not None else profile.privileges
    st.markdown(f"{t('tier')}：**{profile.tier.value}** · {'、'.join(privileges)}")
    for vehicle in profile.vehicles:
        st.caption(f"🚗 {vehicle.plate} · {vehicle.model} · {vehicle.energy}")
    for policy in profile.policies:
        coverages = "、".join(c.name for c in policy.coverages)
        st.caption(f"📄 {policy.policy_no} · {policy.start} ~ {policy.end} · {coverages}")
    for claim in sorted(profile.claims, key=lambda c: c.reported_at, reverse=True):
        with st.container(border=True):
            amount = f" · ¥{claim.amount:,.0f}" if claim.amount is not None else ""
            st.markdown(f"**{claim.claim_no}** · {claim.plate}{amount}")
            st.caption(escape_markdown(claim.description))
            st.markdown(stage_track(CLAIM_STAGES, claim.stage))
            for event in claim.timeline:
                note = f" · {event.note}" if event.note else ""
                st.caption(f"{local_time(event.at)} {event.stage}{note}")
            if claim.adjuster:
                st.caption(f"{t('adjuster')}：{claim.adjuster}")
            if claim_documents is not None:
                render_claim_documents(claim_documents(claim.claim_no))
    if not profile.self_service.empty:
        render_self_service(profile.self_service)
    if profile.interactions:
        with st.expander(t("history")):
            for item in sorted(profile.interactions, key=lambda i: i.at, reverse=True)[:10]:
                day = local_time(item.at, "%Y-%m-%d")
                st.caption(f"{day} · {item.channel} · {item.disposition}")
                render_said(item.summary)


def render_claim_documents(documents: Sequence[tuple[UploadedDocument, bytes | None]]) -> None:
    """A claim's photos as thumbnails (with where they were taken, when kept) and its documents
    by name; nothing when it has none."""
    if not documents:
        return
    st.caption(f"📎 {t('claim_documents')}（{len(documents)}）")
    photos = [(d, thumb) for d, thumb in documents if thumb is not None]
    for start in range(0, len(photos), THUMBNAILS_PER_ROW):
        row = photos[start : start + THUMBNAILS_PER_ROW]
        for column, (document, thumbnail) in zip(st.columns(THUMBNAILS_PER_ROW), row, strict=False):
            where = f" · 📍{document.gps.lat:.4f},{document.gps.lon:.4f}" if document.gps else ""
            column.image(thumbnail, caption=f"{document.original_name}{where}")
    for document, thumb in documents:
        if thumb is None:
            size = f"{document.size / 1024:.0f} KB"
            st.caption(f"📄 {escape_markdown(document.original_name)} · {size}")


def render_self_service(summary: SelfServiceSummary) -> None:
    """What the customer did in the self-service claims flows: reports, appointments and
    withdrawal requests with their status (the records as the store returns them)."""
    with st.expander(t("selfservice"), expanded=True):
        for report in summary.reports:
            extras = [f"{t('ss_photos')} {len(report.photo_ids)}"]
            if report.injuries:
                extras.append(t("ss_injuries"))
            st.caption(
                f"📝 {t('ss_report')} **{report.claim_no}** · {local_time(report.accident_at)} · "
                f"{escape_markdown(report.place)} · {' · '.join(extras)}"
            )
        for appointment in summary.appointments:
            st.caption(
                f"📅 {t('ss_kind_' + appointment.kind.value)} · {appointment.claim_no} · "
                f"{local_time(appointment.slot_start)} · {appointment.contact_phone} · "
                f"{t('ss_appointment_' + appointment.state.value)}"
            )
        for request in summary.withdrawals:
            decided = f" · {request.decided_by}" if request.decided_by else ""
            note = f"：{escape_markdown(request.note)}" if request.note else ""
            st.caption(
                f"↩️ {t('ss_withdrawal')} #{request.id} · {request.claim_no} · "
                f"{t('ss_withdrawal_' + request.state.value)}{decided}{note}"
            )
            st.caption(escape_markdown(request.reason))


def render_reminders(messages: list[OutboxMessage]) -> None:
    """The proactive reminders the customer was sent (or has queued, or that failed)."""
    if not messages:
        return
    with st.expander(f"{t('reminders_sent')}（{len(messages)}）"):
        for message in messages[:10]:
            kinds = "/".join(k.value for k in message.kinds)
            when = local_time(message.sent_at or message.created_at)
            st.caption(f"{when} · {message.channel.value} · {kinds} · {message.status.value}")
            st.text(message.body)
            if message.last_error:
                st.caption(escape_markdown(message.last_error))


def approval_line(approval: Approval) -> str:
    """One approval request in a line: state, action, amount, agent and level, reason, note."""
    parts = [
        f"**#{approval.id}** {t('approval_state_' + approval.state.value)}",
        f"{t('action_' + approval.action.value)} {approval.amount:g} 元",
        f"{approval.agent}（{t('level_' + approval.level.value)}）",
        local_time(approval.requested_at),
    ]
    line = " · ".join(parts) + f"  \n{escape_markdown(approval.reason)}"
    if approval.decided_by:
        line += f"  \n🖊️ {approval.decided_by}" + (
            f"：{escape_markdown(approval.note)}" if approval.note else ""
        )
    return line
