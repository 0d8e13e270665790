"""Self-service chat (demo channel): a customer asks the chatbot; complex cases go to a human."""

from __future__ import annotations

import streamlit as st

from chatbot.models import BotAnswer
from conversation.models import Speaker
from core.errors import IndexNotBuiltError, PolicyDeskError
from customers.uploads import NewUpload
from ui.i18n import t
from ui.resources import get_services
from ui.widgets import render_said

CHAT = "chat_id"
ANSWERS = "chat_answers"
LIVE_EVERY = 2.0  # seconds between re-reads of the conversation (an agent's replies)


def _new_conversation() -> None:
    st.session_state.pop(CHAT, None)
    st.session_state[ANSWERS] = []


def render_answer_meta(answer: BotAnswer) -> None:
    """Citations and, after a handoff, its number and reasons."""
    if answer.citations:
        st.caption(f"{t('citations')}：{'、'.join(answer.citations)}")
    if answer.route == "human":
        handoff = f" · {t('handoff_no')} {answer.handoff_id}" if answer.handoff_id else ""
        st.caption(f"🧑‍💼 {t('routed_human')}{handoff}")


@st.fragment(run_every=LIVE_EVERY)
def render_conversation() -> None:
    """The conversation, re-read every few seconds: after a handoff, the agent's replies appear
    by themselves."""
    bot = get_services().chatbot()
    try:
        conversation = bot.conversation(st.session_state[CHAT])
    except PolicyDeskError as exc:
        st.error(f"{t('chat_error')}{exc}")
        return
    answers: list[BotAnswer] = st.session_state.setdefault(ANSWERS, [])
    with st.chat_message("assistant"):
        st.write(bot.answers.greeting)
    replies = iter(answers)
    for turn in conversation.turns:
        if turn.speaker is Speaker.CUSTOMER:
            with st.chat_message("user"):
                render_said(turn.text)
        elif turn.speaker is Speaker.AGENT:  # a person replying after the handoff
            with st.chat_message("assistant", avatar="🧑‍💼"):
                render_said(turn.text)
                st.caption(f"{t('agent_reply')} {turn.author}")
        else:
            with st.chat_message("assistant"):
                render_said(turn.text)
                answer = next(replies, None)
                if answer is not None:
                    render_answer_meta(answer)
    if conversation.handoff_id is not None:
        st.caption(f"🧑‍💼 {t('agent_replies_live')}")


def render_upload() -> None:
    """The customer sends a photo or a PDF; once verified, for one of their claims (a claim's
    photos keep where they were taken). A refused file says why; nothing of it is kept."""
    services = get_services()
    conversation = services.conversations.load(st.session_state[CHAT])[0]
    with st.expander(t("upload_header")):
        mb = services.settings.upload_max_bytes / 1024 / 1024
        st.caption(t("upload_hint").format(mb=f"{mb:g}"))
        claim_no = None
        if conversation.customer_id is not None:
            claims = services.customers.profile(conversation.customer_id).claims
            if claims:
                choice = st.selectbox(
                    t("upload_claim"),
                    [None, *(c.claim_no for c in claims)],
                    format_func=lambda c: t("upload_no_claim") if c is None else c,
                    key="upload_claim",
                )
                claim_no = choice
        file = st.file_uploader(t("upload_file"), key=f"upload-{conversation.id}")
        if file is None or not st.button(t("upload_send"), key="upload_send"):
            return
        upload = NewUpload(
            data=file.getvalue(),
            filename=file.name,
            declared_type=file.type,
            claim_no=claim_no,
            customer_id=conversation.customer_id,
            conversation_id=conversation.id,
            keep_location=claim_no is not None,
        )
        try:
            stored = services.uploads.add(upload)
        except PolicyDeskError as exc:
            st.error(f"{t('upload_refused')}{exc}")
            return
        st.success(t("upload_done").format(name=stored.original_name))


def main() -> None:
    st.header(t("chat_header"))
    st.info(t("privacy_notice"), icon="🔒")
    st.button(t("new_chat"), on_click=_new_conversation)
    try:
        bot = get_services().chatbot()
    except IndexNotBuiltError:
        st.warning(t("index_missing"))
        return
    except PolicyDeskError as exc:
        st.error(f"{t('model_missing')}{exc}")
        return
    if CHAT not in st.session_state:
        st.session_state[CHAT] = bot.start("web").id
        st.session_state[ANSWERS] = []
    render_conversation()
    render_upload()
    text = st.chat_input(t("chat_placeholder"))
    if text:
        try:
            st.session_state[ANSWERS].append(bot.post(st.session_state[CHAT], text))
        except PolicyDeskError as exc:
            st.error(f"{t('chat_error')}{exc}")
            return
        st.rerun()


main()
