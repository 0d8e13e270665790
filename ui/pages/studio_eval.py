"""Trainer studio · evaluation: the golden question set (editable), a run over the live index as a
background job (its progress and result read from the job's row, so the trainer may leave and come
back), R@k, MRR, the misses (collapsed) and the change since the last live run, a dry run
with the unpublished drafts, so a trainer sees whether an edit helps before it is published, and
R@k and MRR over the past live runs."""

from __future__ import annotations

import streamlit as st

from accounts.models import User
from accounts.permissions import Action, can
from services.jobs import GoldenEvalOutcome, GoldenEvalRequest, JobKind
from studio.curation import unpublished_ids
from studio.golden import EvalRunSummary, GoldenQuestion
from studio.golden_eval import DRAFT_LABEL, LIVE_LABEL, EvalDelta, EvalReport
from ui.auth import missing_role, require_page
from ui.format import escape_markdown, local_time, signed, split_list
from ui.i18n import t
from ui.jobs import follow_job, submit_job
from ui.notices import attempt, forget, notify, show_attempt, show_notices
from ui.resources import get_services

TREND_RUNS = 30  # live runs in the chart


# ----- state changes (button callbacks) ---------------------------------------------------------


def _add_question(user: User) -> None:
    state = st.session_state
    added = attempt(
        lambda: get_services().golden.add(
            str(state.get("golden-new-question", "")),
            split_list(str(state.get("golden-new-expected", ""))),
            str(state.get("golden-new-note", "")),
            author=user.username,
        ),
        t("golden_failed"),
    )
    if added is not None:
        forget("golden-new-")
        notify("success", t("golden_added").format(id=added.id))


def _update_question(user: User, question_id: int) -> None:
    state = st.session_state
    updated = attempt(
        lambda: get_services().golden.update(
            question_id,
            author=user.username,
            question=str(state.get(f"golden-q-{question_id}", "")),
            expected_ids=split_list(str(state.get(f"golden-e-{question_id}", ""))),
            note=str(state.get(f"golden-n-{question_id}", "")),
        ),
        t("golden_failed"),
    )
    if updated is not None:
        notify("success", t("golden_updated").format(id=question_id))


def _remove_question(question_id: int) -> None:
    def remove() -> bool:
        get_services().golden.remove(question_id)
        return True

    if attempt(remove, t("golden_failed")):
        st.session_state.pop("golden_pick", None)
        notify("success", t("golden_removed").format(id=question_id))


def _request_run(user: User, drafts: bool) -> None:
    """Submit a golden-set run as a background job; a dry run without drafts is refused at
    once (nothing is run)."""
    if drafts:
        ids = attempt(lambda: unpublished_ids(get_services().studio, user), t("eval_failed"))
        if ids is None:
            return
        if not ids:
            notify("info", t("eval_no_drafts"))
            return
    submit_job(JobKind.GOLDEN_EVAL, GoldenEvalRequest(drafts=drafts), t("eval_failed"))


def render_job(user: User) -> bool:
    """The user's latest evaluation job: its progress while it runs, then its report.

    Returns:
        True while a job is queued or running (the run buttons wait for it).
    """
    running, outcome = follow_job(
        JobKind.GOLDEN_EVAL, user, GoldenEvalOutcome, t("eval_failed"), t("eval_progress")
    )
    if outcome is not None:
        render_report(outcome.label, outcome.report, outcome.delta)
    return running


# ----- rendering --------------------------------------------------------------------------------


def render_golden(user: User, questions: list[GoldenQuestion]) -> None:
    """The golden questions as a table, with add, edit and remove forms for those who may."""
    st.subheader(t("golden_set"))
    st.caption(t("golden_count").format(n=len(questions)))
    if questions:
        st.dataframe(
            [
                {
                    "#": q.id,
                    t("question"): q.question,
                    t("expected_ids"): "、".join(q.expected_ids),
                    t("version_note"): q.note,
                    t("updated_by"): q.updated_by,
                    t("updated_at"): local_time(q.updated_at),
                }
                for q in questions
            ],
            hide_index=True,
        )
    if not can(user, Action.EDIT_GOLDEN):
        st.caption(missing_role(Action.EDIT_GOLDEN))
        return
    add, edit = st.columns(2)
    with add, st.form("golden_add"):
        st.markdown(f"**{t('golden_add')}**")
        st.text_input(t("question"), key="golden-new-question")
        st.text_input(t("expected_ids"), key="golden-new-expected", help=t("expected_ids_help"))
        st.text_input(t("version_note"), key="golden-new-note")
        st.form_submit_button(t("golden_add"), on_click=_add_question, args=(user,))
    with edit:
        st.markdown(f"**{t('golden_edit')}**")
        by_id = {q.id: q for q in questions}
        picked = st.selectbox(
            t("golden_pick"),
            [None, *by_id],
            format_func=lambda i: "—" if i is None else f"#{i} {by_id[i].question[:30]}",
            key="golden_pick",
        )
        if picked is None or picked not in by_id:
            return
        question = by_id[picked]
        with st.form(f"golden-edit-{picked}"):
            st.text_input(t("question"), value=question.question, key=f"golden-q-{picked}")
            st.text_input(
                t("expected_ids"),
                value="、".join(question.expected_ids),
                key=f"golden-e-{picked}",
            )
            st.text_input(t("version_note"), value=question.note, key=f"golden-n-{picked}")
            st.form_submit_button(
                t("golden_update"), on_click=_update_question, args=(user, picked)
            )
        st.button(
            t("golden_remove"),
            key=f"golden-remove-{picked}",
            on_click=_remove_question,
            args=(picked,),
        )


def render_report(label: str, report: EvalReport, delta: EvalDelta) -> None:
    """R@k and MRR with the change since the last live run, what moved, and every miss."""
    st.subheader(t("eval_result_draft") if label == DRAFT_LABEL else t("eval_result_live"))
    columns = st.columns(len(report.ks) + 1)
    for column, k in zip(columns, report.ks, strict=False):
        moved = delta.recall.get(k) if delta.has_baseline else None
        column.metric(
            f"R@{k}", f"{report.recall[k]:.3f}", signed(moved) if moved is not None else None
        )
    columns[-1].metric(
        "MRR@10",
        f"{report.mrr:.3f}",
        signed(delta.mrr) if delta.has_baseline and delta.mrr is not None else None,
    )
    st.caption(t("eval_delta_since") if delta.has_baseline else t("eval_no_baseline"))
    for title, changes in (
        (t("newly_fixed"), delta.newly_fixed),
        (t("newly_broken"), delta.newly_broken),
    ):
        if changes:
            st.markdown(f"**{title}**")
            for change in changes:
                st.caption(
                    f"#{change.question_id} {change.question} · "
                    f"{change.rank_before or '—'} → {change.rank_after or '—'}"
                )
    if not report.misses:
        st.success(t("no_misses"))
        return
    # collapsed: a hundred-question run can miss dozens, and the metrics come first
    with st.expander(f"{t('misses')}（{len(report.misses)}/{report.questions}）"):
        for miss in report.misses:
            with st.container(border=True):
                st.markdown(f"#{miss.question_id} {escape_markdown(miss.question)}")
                rank = t("rank_none") if miss.rank is None else t("rank_at").format(rank=miss.rank)
                st.caption(f"{t('expected_ids')}：{'、'.join(miss.expected_ids)} · {rank}")
                came = "、".join(p.citation or p.id for p in miss.top) or "—"
                st.caption(f"{t('came_instead')}：{came}")


def render_trend(live_runs: list[EvalRunSummary]) -> None:
    """R@k and MRR over the live runs (given newest first), with what each measures."""
    st.subheader(t("eval_trend"))
    if len(live_runs) < 2:
        st.caption(t("eval_trend_needs_two"))
    else:
        runs = live_runs[::-1]
        ks = sorted({k for run in runs for k in run.recall})
        series = {f"R@{k}": [run.recall.get(k) for run in runs] for k in ks}
        series["MRR@10"] = [run.mrr for run in runs]
        st.line_chart(
            {t("time"): [run.at for run in runs], **series},
            x=t("time"),
            y=list(series),
            x_label=t("time"),
            y_label=t("eval_score"),
        )
    st.caption(t("recall_explained"))
    st.caption(t("mrr_explained"))


def main() -> None:
    user = require_page(Action.RUN_EVAL)
    st.header(t("studio_eval_header"))
    show_notices()
    services = get_services()
    questions = show_attempt(services.golden.list, t("golden_failed"))
    if questions is None:
        return
    render_golden(user, questions)
    st.divider()
    buttons = st.empty()  # drawn after the job is read: they wait while it runs
    running = render_job(user)
    with buttons.container():
        live, drafts, _ = st.columns([1, 1, 2])
        live.button(
            t("eval_run"),
            key="eval_run",
            type="primary",
            on_click=_request_run,
            args=(user, False),
            disabled=running,
        )
        drafts.button(
            t("eval_drafts"),
            key="eval_drafts",
            on_click=_request_run,
            args=(user, True),
            disabled=running,
        )
    live_runs = show_attempt(
        lambda: services.eval_runs.history(limit=TREND_RUNS, label=LIVE_LABEL), t("eval_failed")
    )
    if live_runs is None:
        return
    st.divider()
    render_trend(live_runs)
    history = show_attempt(lambda: services.eval_runs.history(limit=10), t("eval_failed"))
    if history:
        with st.expander(t("eval_history")):
            st.dataframe(
                [
                    {
                        t("time"): local_time(run.at),
                        t("eval_label"): run.label,
                        t("actor"): run.actor,
                        **{f"R@{k}": round(v, 3) for k, v in sorted(run.recall.items())},
                        "MRR": round(run.mrr, 3),
                        t("misses"): run.misses,
                    }
                    for run in history
                ],
                hide_index=True,
            )


main()
