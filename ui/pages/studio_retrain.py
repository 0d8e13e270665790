"""Trainer studio · caller emotion: retrain from the published labelled utterances (a background
job, about a minute; its progress and result are read from the job's row), compare the dev metrics
before and after, keep or discard the new model."""

from __future__ import annotations

import streamlit as st

from accounts.models import User
from accounts.permissions import Action
from db.jobs import Job, JobState
from sentiment.retrain import RetrainResult
from services.jobs import EmotionRetrainRequest, JobKind
from studio.utterances import pending_changes
from ui.auth import current_user, require_page
from ui.i18n import t
from ui.jobs import follow_job, submit_job
from ui.notices import attempt, notify, show_attempt, show_notices
from ui.resources import get_services

METRICS = ("label_accuracy", "upset_f1")


def _retrain() -> None:
    submit_job(JobKind.EMOTION_RETRAIN, EmotionRetrainRequest(), t("retrain_failed"))


def _keep() -> None:
    services = get_services()

    def keep() -> bool:
        services.emotion_retrainer().keep()
        services.content_changed()
        return True

    if attempt(keep, t("retrain_failed")):
        user = current_user()
        services.audit.record(user.username if user else "?", "emotion.keep", "emotion-model")
        notify("success", t("retrain_kept"))


def _discard() -> None:
    services = get_services()

    def discard() -> bool:
        services.emotion_retrainer().discard()
        return True

    if attempt(discard, t("retrain_failed")):
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


def render_job(user: User) -> bool:
    """The user's latest retraining: its progress while it runs, then the comparison with keep
    and discard while its candidate waits for a decision.

    Returns:
        True while a retraining is queued or running.
    """

    def undecided(job: Job) -> bool:  # a done retraining is shown until kept or discarded
        return (
            job.state is not JobState.DONE
            or get_services().emotion_retrainer().candidate is not None
        )

    running, result = follow_job(
        JobKind.EMOTION_RETRAIN,
        user,
        RetrainResult,
        t("retrain_failed"),
        t("retrain_running"),
        shown=undecided,
    )
    if result is not None:
        render_result(result)
        keep, discard = st.columns(2)
        keep.button(t("retrain_keep"), on_click=_keep, type="primary")
        discard.button(t("retrain_discard"), on_click=_discard)
    return running


def main() -> None:
    user = require_page(Action.RETRAIN)
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
    button = st.empty()  # drawn after the job is read: it waits while a retraining runs
    running = render_job(user)
    button.button(
        t("retrain_button"), key="retrain_run", on_click=_retrain, type="primary", disabled=running
    )


main()
