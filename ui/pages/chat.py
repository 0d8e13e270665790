"""Self-service chat (demo channel): a customer asks the chatbot; complex cases go to a human."""

from __future__ import annotations

import math

import streamlit as st

from chatbot.models import BotAnswer, SentFile
from chatbot.service import ChatbotService, FileRefusedError
from conversation.models import Speaker
from core.errors import IndexNotBuiltError, PolicyDeskError
from ui.format import escape_markdown
from ui.i18n import t
from ui.resources import get_services
from ui.widgets import render_said

CHAT = "chat_id"
ANSWERS = "chat_answers"
SENDS = "chat_file_sends"  # how many times files were sent in this session
LIVE_EVERY = 2.0  # seconds between re-reads of the conversation (an agent's replies)


def _new_conversation() -> None:
    st.session_state.pop(CHAT, None)
    st.session_state.pop("upload_claim", None)
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


def render_upload(bot: ChatbotService) -> None:
    """发送照片/文件: the customer picks photos or PDFs (several at once) and sends them as one
    message, which the bot answers like a typed one (a report's photos arrive together). Once
    verified, the files may be for one of their claims (a claim's photos keep where they were
    taken). A refused file says which and why; then no message is sent."""
    try:
        conversation = bot.conversation(st.session_state[CHAT])
    except PolicyDeskError:
        return  # the conversation above already says why
    with st.expander(t("upload_header")):
        mb = get_services().settings.upload_max_bytes / 1024 / 1024
        st.caption(t("upload_hint").format(mb=f"{mb:g}"))
        claim_no = render_claim_choice(conversation.customer_id)
        # a new key after each send: the box starts empty, so nothing is sent twice
        sends = st.session_state.get(SENDS, 0)
        picked = st.file_uploader(
            t("upload_file"),
            accept_multiple_files=True,
            # the browser refuses a file over the limit before sending it (the store checks too)
            max_upload_size=math.ceil(mb),
            key=f"upload-{conversation.id}-{sends}",
        )
        if not st.button(t("upload_send"), key="upload_send", disabled=not picked):
            return
        files = [SentFile(name=f.name, data=f.getvalue(), content_type=f.type) for f in picked]
        try:
            answer = bot.send_files(conversation.id, files, claim_no=claim_no)
        except FileRefusedError as exc:
            name = escape_markdown(exc.filename)  # the customer's own file name, shown as text
            st.error(f"{t('upload_refused').format(name=name)}{exc}")
            return
        except PolicyDeskError as exc:
            st.error(f"{t('chat_error')}{exc}")
            return
    st.session_state[ANSWERS].append(answer)
    st.session_state[SENDS] = sends + 1
    st.rerun()


def render_claim_choice(customer_id: str | None) -> str | None:
    """For a verified customer with claims, which claim the files are for (none by default: a
    report's photos go to the claim it creates)."""
    if customer_id is None:
        return None
    claims = get_services().customers.profile(customer_id).claims
    if not claims:
        return None
    choice: str | None = st.selectbox(
        t("upload_claim"),
        [None, *(c.claim_no for c in claims)],
        format_func=lambda c: t("upload_no_claim") if c is None else c,
        key="upload_claim",
    )
    return choice


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
    render_upload(bot)
    text = st.chat_input(t("chat_placeholder"))
    if text:
        try:
            st.session_state[ANSWERS].append(bot.post(st.session_state[CHAT], text))
        except PolicyDeskError as exc:
            st.error(f"{t('chat_error')}{exc}")
            return
        st.rerun()


main()
