"""Trainer studio · caller emotion: retrain from the published labelled utterances, compare the dev
metrics before and after, keep or discard the new model."""

from __future__ import annotations

import streamlit as st

from accounts.permissions import Action
from sentiment.retrain import RetrainResult
from studio.utterances import pending_changes, propose_retraining
from ui.auth import current_user, require_page
from ui.i18n import t
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services

RESULT = "retrain_result"
METRICS = ("label_accuracy", "upset_f1")


def _retrain() -> None:
    services = get_services()
    with st.spinner(t("retrain_running")):
        result = attempt(
            lambda: propose_retraining(
                services.studio, services.emotion_retrainer(), services.settings.sentiment_data
            ),
            t("retrain_failed"),
        )
    if result is not None:
        st.session_state[RESULT] = result


def _keep() -> None:
    services = get_services()

    def keep() -> bool:
        services.emotion_retrainer().keep()
        services.content_changed()
        return True

    if attempt(keep, t("retrain_failed")):
        user = current_user()
        services.audit.record(user.username if user else "?", "emotion.keep", "emotion-model")
        st.session_state.pop(RESULT, None)
        notify("success", t("retrain_kept"))


def _discard() -> None:
    services = get_services()

    def discard() -> bool:
        services.emotion_retrainer().discard()
        return True

    if attempt(discard, t("retrain_failed")):
        st.session_state.pop(RESULT, None)
        notify("info", t("retrain_discarded"))


def render_result(result: RetrainResult) -> None:
    """Dev metrics of the serving model and the candidate, on the same dev split."""
    st.dataframe(
        [
            {
                t("metric"): t(f"metric_{name}"),
                t("before"): f"{result.before[name]:.3f}",
                t("after"): f"{result.after[name]:.3f}",
                "Δ": f"{result.after[name] - result.before[name]:+.3f}",
            }
            for name in METRICS
        ],
        hide_index=True,
    )
    st.caption(
        t("retrain_sizes").format(
            train=result.train_size, dev=result.dev_size, changes=result.overrides
        )
    )
    (st.success if result.improved else st.warning)(
        t("retrain_better") if result.improved else t("retrain_worse")
    )


def main() -> None:
    require_page(Action.RETRAIN)
    st.header(t("studio_retrain_header"))
    show_notices()
    services = get_services()
    st.caption(t("retrain_intro"))
    changes = show_attempt(
        lambda: pending_changes(services.studio, services.settings.sentiment_data),
        t("retrain_failed"),
    )
    if changes is not None:
        st.markdown(t("retrain_pending").format(n=len(changes)))
        if changes:
            st.dataframe(
                [
                    {
                        "ID": c.utterance.id,
                        t("field_text"): c.utterance.text,
                        t("utterance_label"): c.utterance.label.value,
                        t("utterance_split"): c.split,
                    }
                    for c in changes[:200]
                ],
                hide_index=True,
            )
    st.button(t("retrain_button"), on_click=_retrain, type="primary")
    result: RetrainResult | None = st.session_state.get(RESULT)
    if result is not None and services.emotion_retrainer().candidate is not None:
        render_result(result)
        keep, discard = st.columns(2)
        keep.button(t("retrain_keep"), on_click=_keep, type="primary")
        discard.button(t("retrain_discard"), on_click=_discard)


main()
