"""Background jobs on a page: submit one from a button, follow its progress, show how it ended.

The job is a row in the database (``db.jobs``), so its progress and result do not depend on the
page: a trainer may leave and come back (the page shows the user's latest job of the kind), and
in queue mode a worker process on another machine runs it. While the job is queued or running a
fragment re-reads the row every second; when the job ends it reruns the whole page, which renders
the result from the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from pydantic import BaseModel

from accounts.models import User
from db.jobs import Job, JobState
from services.jobs import JobKind, job_result
from ui.auth import current_user
from ui.format import local_time
from ui.i18n import t
from ui.notices import attempt, show_attempt
from ui.resources import get_services

WATCH_EVERY = 1.0  # seconds between reads of a running job's row
JOBS = "jobs_in_hand"  # session state: job kind -> the id of the job this session submitted
ResultT = TypeVar("ResultT", bound=BaseModel)


def submit_job(kind: JobKind, request: BaseModel, failure: str) -> Job | None:
    """Submit a job for the logged-in user (a button callback); a refusal becomes a notice."""
    user = current_user()
    if user is None:
        return None
    job = attempt(lambda: get_services().job_submitter.submit(kind, request, user), failure)
    if job is not None:
        st.session_state.setdefault(JOBS, {})[kind.value] = job.id
    return job


def job_in_hand(kind: JobKind, user: User, failure: str) -> Job | None:
    """The job this session submitted, else the user's latest job of the kind (None: none)."""
    jobs = get_services().jobs
    job_id = st.session_state.get(JOBS, {}).get(kind.value)
    if job_id is not None:
        return show_attempt(lambda: jobs.get(job_id), failure)
    latest = show_attempt(lambda: jobs.recent(kind.value, 1, user.username), failure)
    return latest[0] if latest else None


def _cancel(job_id: int) -> None:
    attempt(lambda: get_services().jobs.cancel(job_id), t("job_cancel_failed"))


def _progress_text(job: Job, progress_text: str) -> str:
    if job.state is JobState.QUEUED:
        waiting = "job_waiting_inline" if get_services().job_submitter.inline else "job_waiting"
        return t(waiting)
    if job.progress_total:
        return progress_text.format(done=job.progress_done, total=job.progress_total)
    return t("job_started")


@st.fragment(run_every=WATCH_EVERY)
def watch_job(job_id: int, progress_text: str) -> None:
    """A queued or running job's progress, re-read every second; the page reruns when it ends.

    Args:
        job_id: the job.
        progress_text: the progress line, with ``{done}`` and ``{total}``.
    """
    job = show_attempt(lambda: get_services().jobs.get(job_id), t("job_cancel_failed"))
    if job is None:
        return
    if job.state.ended:
        st.rerun()  # the whole page, which shows the result
    get_services().job_submitter.look_after(job)  # inline: nobody else starts a job left waiting
    st.progress(job.fraction or 0.0, text=_progress_text(job, progress_text))
    st.button(t("job_cancel"), key=f"job-cancel-{job.id}", on_click=_cancel, args=(job.id,))


def follow_job(
    kind: JobKind,
    user: User,
    model: type[ResultT],
    failure: str,
    progress_text: str,
    shown: Callable[[Job], bool] = lambda _job: True,
) -> tuple[bool, ResultT | None]:
    """The user's job of a kind on the page: its progress while it runs (``watch_job``), then
    how it ended.

    Args:
        kind: the kind of job.
        user: whose job.
        model: the kind's result model.
        failure: the prefix of a failure's message, e.g. t("eval_failed").
        progress_text: the progress line, with ``{done}`` and ``{total}``.
        shown: whether an ended job is still worth showing (e.g. not once a decision was taken).

    Returns:
        (True while the job is queued or running, the result of a done job to render).
    """
    job = job_in_hand(kind, user, failure)
    if job is None:
        return False, None
    if not job.state.ended:
        watch_job(job.id, progress_text)
        return True, None
    if shown(job) and show_job_end(job, failure):
        return False, show_attempt(lambda: job_result(job, model), failure)
    return False, None


def show_job_end(job: Job, failure: str) -> bool:
    """How a job ended, when it did not end well (a failure's message, a cancel).

    Returns:
        True when the job is done and its result can be shown.
    """
    if job.state is JobState.FAILED:
        st.error(f"{failure}{job.error or ''}")
    elif job.state is JobState.CANCELLED:
        st.info(t("job_cancelled").format(id=job.id))
    if job.state is not JobState.DONE:
        return False
    st.caption(t("job_result_of").format(id=job.id, at=local_time(job.finished_at)))
    return True
