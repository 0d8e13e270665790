"""The service dashboard (服务看板) for supervisors: every KPI of a period, team or agent with its
definition and how many contacts it counts, the daily trend, the agents' league table, why the bot
handed over, and a drill-down to the contacts behind any figure (with a CSV export).

The page reads the view once per rerun (``QualityService.dashboard``); the drill-down reads its
own rows; the export runs only when the button is clicked.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from accounts.permissions import Action
from quality.kpis import METRIC_NAMES, KpiFilter, KpiValue
from quality.service import Dashboard
from services.root import Services
from ui.auth import require_page
from ui.format import kpi_text
from ui.i18n import t
from ui.notices import show_attempt, show_notices
from ui.resources import get_services
from ui.scorecard import read_period

TILES_PER_ROW = 5
DRILL_LIMIT = 500
ALL = ""
TREND_SHARES = ("fcr", "repeat_contact_7d", "upset_rate", "containment")
LEAGUE = ("fcr", "aht_s", "qa_score", "redlines_per_100", "upset_rate", "csat")


def _label(name: str, figure: KpiValue | None = None) -> str:
    text = t(f"kpi_{name}")
    return figure.label if text == f"kpi_{name}" and figure is not None else text


def _units() -> dict[str, str]:
    return {"秒": t("unit_seconds"), "分": t("unit_points")}


def read_view(
    services: Services, team_box: DeltaGenerator, agent_box: DeltaGenerator
) -> KpiFilter | None:
    """The period, then the team and agent choosers (from the teams and agents the period, and
    the team, has): the view they make, or None with a message."""
    period = read_period("dash_period", services.quality.today())
    if period is None:
        return None
    whole = show_attempt(lambda: KpiFilter(start=period[0], end=period[1]), t("dash_failed"))
    if whole is None:
        return None
    teams = show_attempt(lambda: services.quality.teams(whole), t("dash_failed")) or []
    if st.session_state.get("dash_team", ALL) not in (ALL, *teams):
        st.session_state["dash_team"] = ALL  # gone from the period: back to all
    # labels resolved now, in the session's language (a format_func runs again later)
    team_labels = {ALL: t("all_teams"), **{n: n for n in teams}}
    team = team_box.selectbox(
        t("team"), list(team_labels), format_func=team_labels.__getitem__, key="dash_team"
    )
    in_team = whole.model_copy(update={"team": team or None})
    agents = show_attempt(lambda: services.quality.agents(in_team), t("dash_failed")) or []
    if st.session_state.get("dash_agent", ALL) not in (ALL, *agents):
        st.session_state["dash_agent"] = ALL
    agent_labels = {ALL: t("all_agents"), **{n: n for n in agents}}
    agent = agent_box.selectbox(
        t("agent"), list(agent_labels), format_func=agent_labels.__getitem__, key="dash_agent"
    )
    return in_team.model_copy(update={"agent": agent or None})


def render_tiles(board: Dashboard) -> None:
    """One tile per KPI: the figure, its definition on hover, and its n."""
    figures = list(board.report.metrics.items())
    units = _units()
    for at in range(0, len(figures), TILES_PER_ROW):
        for column, (name, figure) in zip(
            st.columns(TILES_PER_ROW), figures[at : at + TILES_PER_ROW], strict=False
        ):
            column.metric(
                _label(name, figure),
                kpi_text(name, figure, units),
                help=t("kpi_help").format(
                    definition=t(f"kpi_def_{name}") or figure.definition, n=figure.n
                ),
            )
            column.caption(t("kpi_n").format(n=figure.n))


def render_proactive(services: Services, view: KpiFilter) -> None:
    """The centre's proactive contacts (车主秘书 reminders) in the period: a whole-centre figure,
    not shown for one team or agent."""
    if view.team or view.agent:
        return
    counts = services.reminders.proactive_counts(view.start, view.end)
    # one line, not tiles: the tiles are the contact KPIs, each with its n
    figures = " · ".join(
        f"{t(key)} **{value}**"
        for key, value in (
            ("proactive_messages", counts.messages),
            ("proactive_sent", counts.sent),
            ("proactive_failed", counts.failed),
            ("proactive_queued", counts.queued),
        )
    )
    kinds = " · ".join(f"{kind} {n}" for kind, n in counts.reminders_by_kind.items())
    st.markdown(f"**{t('proactive')}**：{figures}")
    st.caption(f"{t('proactive_kinds')}：{kinds or '—'}")


def render_trend(board: Dashboard) -> None:
    """The daily shares (and the QA score), optionally smoothed over seven days."""
    st.subheader(t("dash_trend"))
    smooth = st.toggle(t("dash_trend_smooth"), value=True, key="dash_smooth")
    day, metric, value = t("dash_trend_day"), t("dash_trend_metric"), t("dash_trend_value")
    shares = pd.DataFrame(
        [
            {day: pd.Timestamp(key), metric: _label(name), value: figures[name].value}
            for key, figures in board.daily
            for name in TREND_SHARES
            if figures[name].value is not None
        ],
        columns=[day, metric, value],
    )
    scores = pd.DataFrame(
        [
            {day: pd.Timestamp(key), value: figures["qa_score"].value}
            for key, figures in board.daily
            if figures["qa_score"].value is not None
        ],
        columns=[day, value],
    )
    left, right = st.columns([3, 2])
    shown = value
    share_chart = alt.Chart(shares)
    score_chart = alt.Chart(scores)
    if smooth:
        shown = "smoothed"
        share_chart = share_chart.transform_window(
            smoothed=f"mean({value})", frame=[-6, 0], groupby=[metric], sort=[{"field": day}]
        )
        score_chart = score_chart.transform_window(
            smoothed=f"mean({value})", frame=[-6, 0], sort=[{"field": day}]
        )
    left.altair_chart(
        share_chart.mark_line(point=True).encode(
            x=alt.X(f"{day}:T", title=day),
            y=alt.Y(f"{shown}:Q", title=value, axis=alt.Axis(format="%")),
            color=alt.Color(f"{metric}:N", title=metric),
            tooltip=[f"{day}:T", f"{metric}:N", alt.Tooltip(f"{shown}:Q", format=".1%")],
        ),
        width="stretch",
    )
    right.altair_chart(
        score_chart.mark_line(point=True, color="#2a7").encode(
            x=alt.X(f"{day}:T", title=day),
            y=alt.Y(f"{shown}:Q", title=t("kpi_qa_score"), scale=alt.Scale(domain=[0, 100])),
            tooltip=[f"{day}:T", alt.Tooltip(f"{shown}:Q", format=".1f")],
        ),
        width="stretch",
    )


def render_league(board: Dashboard) -> None:
    """Per agent and per team: the contacts and the main figures, best QA score first."""
    st.subheader(t("league"))
    units = _units()
    by_agent, by_team = st.tabs([t("agent"), t("team")])
    for tab, who, groups in (
        (by_agent, t("agent"), board.agents),
        (by_team, t("team"), board.teams),
    ):
        ranked = sorted(groups, key=lambda g: g[1]["qa_score"].value or -1.0, reverse=True)
        tab.dataframe(
            [
                {
                    who: key,
                    t("league_contacts"): figures["fcr"].n,
                    **{_label(name): kpi_text(name, figures[name], units) for name in LEAGUE},
                }
                for key, figures in ranked
            ],
            hide_index=True,
            width="stretch",
        )


def render_handoffs(board: Dashboard) -> None:
    """Why the bot handed over, most frequent first."""
    st.subheader(t("handoff_reasons"))
    if not board.handoff_reasons:
        st.caption(t("handoff_none"))
        return
    reason, count = t("handoff_reason_col"), t("count")
    data = pd.DataFrame(board.handoff_reasons, columns=[reason, count])
    st.altair_chart(
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X(f"{count}:Q", title=count),
            y=alt.Y(f"{reason}:N", sort="-x", title=reason),
            tooltip=[f"{reason}:N", f"{count}:Q"],
        ),
        width="stretch",
    )


def render_drill(services: Services, view: KpiFilter, board: Dashboard) -> None:
    """Choose a figure; the contacts behind it, each marked whether it counts; the CSV export."""
    st.subheader(t("drill"))
    labels = {n: _label(n, board.report.metrics.get(n)) for n in METRIC_NAMES}
    name = st.selectbox(
        t("drill_metric"), list(labels), format_func=labels.__getitem__, key="dash_drill"
    )
    rows = show_attempt(lambda: services.quality.drill(view, name, DRILL_LIMIT), t("dash_failed"))
    if rows is None:
        return
    figure = board.report.metrics[name]
    st.caption(
        t("drill_caption").format(
            n=figure.n, counted=sum(1 for r in rows if r.counted), limit=DRILL_LIMIT
        )
    )
    if not rows:
        st.info(t("drill_empty"))
        return
    st.dataframe(
        [
            {
                t("col_contact"): r.id,
                t("counted"): bool(r.counted),
                t("col_amount"): r.amount,
                t("col_started"): r.started_at,
                t("col_kind"): r.kind,
                t("col_channel"): r.channel,
                t("agent"): r.agent,
                t("col_matter"): r.matter,
                t("col_disposition"): r.disposition,
                t("col_score"): r.qa_score,
                t("col_redlines"): r.redlines,
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )
    st.download_button(
        t("download_csv"),
        data=lambda: services.quality.export_csv(view, name),  # runs on the click only
        file_name=f"{name}_{view.start}_{view.end}.csv",
        mime="text/csv",
        key="dash_csv",
    )


def main() -> None:
    require_page(Action.MONITOR_CALLS)
    st.header(t("dashboard_header"))
    show_notices()
    services = get_services()
    period_box, team_box, agent_box = st.columns([2, 1, 1])
    with period_box:
        view = read_view(services, team_box, agent_box)
    if view is None:
        return
    board = show_attempt(lambda: services.quality.dashboard(view), t("dash_failed"))
    if board is None:
        return
    if not board.report.metrics["fcr"].n:  # every contact is in its base
        st.info(t("dash_empty"))
        return
    render_tiles(board)
    render_proactive(services, view)
    render_trend(board)
    left, right = st.columns([3, 2])
    with left:
        render_league(board)
    with right:
        render_handoffs(board)
    render_drill(services, view, board)


main()
