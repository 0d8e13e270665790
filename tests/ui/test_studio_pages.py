"""The trainer studio in the browser, driven with AppTest on a temp data dir with the fake embedder:
import and fix a clause document, submit, preview with the draft, publish, find it, evaluate, roll
back; plus the feedback queue, the audit log and user management."""

from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from accounts.models import Role
from audit.log import AuditFilter
from chatbot.review import NewReview, ReviewKind
from chatbot.understanding import Reason
from core.models import SearchRequest
from db.jobs import JobState
from prompts.guard import ComplianceGuard
from retrieval.synonyms import TermEntry
from services.root import Services
from studio.feedback import NewFeedback
from studio.items import ItemKind, ItemStatus, RuleContent, TermContent
from studio.overlays import rule_seed_entries
from tests.ui.conftest import APP, click, click_job, logged_in, page, run, texts

pytestmark = pytest.mark.integration

NEV = """---
doc_id: nev
document: 新能源汽车专属条款
product: nev
effective_date: 2024-01-01
version: 2024版
---
# 新能源汽车专属条款
### 第一条
自用充电桩起火造成被保险新能源汽车损失的，保险人负责赔偿。
### 第二条
电池包因碰撞受损的，保险人按实际修复费用赔偿。第三条 外部电网故障导致充电中的车辆损失，保险人赔偿。
"""


def _open(services: Services, name: str, username: str) -> AppTest:
    return run(logged_in(AppTest.from_file(page(name), default_timeout=60), services, username))


def _button(app: AppTest, label: str) -> AppTest:
    next(b for b in app.button if b.label == label).click()
    return run(app)


def _live_text(services: Services, query: str, item_id: str) -> str | None:
    hits = services.retriever().search(SearchRequest(query=query, k=5)).hits
    return next((h.text for h in hits if h.id == item_id), None)


def _import_and_submit(services: Services) -> AppTest:
    """Tina uploads the document, fixes the split (an article heading run into the text above
    it), renames one article and saves the three articles as drafts sent to review."""
    app = _open(services, "studio_import", "tina")
    app.file_uploader[0].set_value(("nev.md", NEV.encode("utf-8"), "text/markdown"))
    app = click(app, "import_preview")
    results = app.dataframe[0].value
    assert list(results.iloc[:, 0]) == ["nev.md"] and "✅" in results.iloc[0, 1]
    articles = app.dataframe[1].value
    assert list(articles["ID"]) == ["nev-1", "nev-2"]  # 第三条 is hidden inside 第二条
    tina = services.accounts.get("tina")
    assert not [s for s in services.studio.search(tina) if s.item.id.startswith("nev")]  # unsaved

    app.number_input(key="fix-split_i-0-2").set_value(1)
    app = run(app)
    app.text_input(key="fix-split_marker-0-2").input("第三条")
    app = click(app, "fix-split")
    assert list(app.dataframe[1].value["ID"]) == ["nev-1", "nev-2", "nev-3"]
    app.text_input(key="fix-rename_title-0-3").input("充电桩起火")
    app = click(app, "fix-rename")
    assert app.dataframe[1].value["标题"][0] == "充电桩起火"

    app.text_input(key="import_note").input("新能源专属条款首次导入")
    app.checkbox(key="import_submit").check()
    app = click(app, "import_save")
    assert "新建 3 条" in texts(app) and "已提交审核 3 条" in texts(app)
    return app


def test_the_studio_path(studio_services: Services) -> None:
    services = studio_services
    _import_and_submit(services)
    studio, tina = services.studio, services.accounts.get("tina")
    assert studio.get(tina, "nev-1").item.status is ItemStatus.IN_REVIEW
    assert studio.get(tina, "nev-1").current.content.title == "充电桩起火"
    assert _live_text(services, "充电桩起火", "nev-1") is None  # nothing unpublished serves

    # the trainer measures before publishing: the live run misses, the dry run with drafts hits
    app = _open(services, "studio_eval", "tina")
    assert app.dataframe[0].value.shape[0] == 3  # the golden questions
    app = click_job(app, services, "eval_run")
    recall = {m.label: m.value for m in app.metric}
    assert set(recall) == {"R@1", "R@3", "R@5", "MRR@10"}
    assert float(recall["R@5"]) == pytest.approx(2 / 3, abs=1e-3)
    assert "充电桩起火烧了车能赔吗" in texts(app) and "实际排在前面的是" in texts(app)
    app = click_job(app, services, "eval_drafts")
    assert "草稿预演结果" in " ".join(s.value for s in app.subheader)
    assert float(next(m.value for m in app.metric if m.label == "R@5")) == pytest.approx(1.0)

    # the reviewer previews retrieval with the draft, then publishes it
    app = _open(services, "studio_review", "rita")
    assert "3 个条目待审核" in texts(app)
    app.text_input(key="review-preview-nev-1-question").input("充电桩起火烧了车能赔吗")
    app = click(app, "review-preview-nev-1-run")
    assert any(":orange-badge[草稿]" in m.value and "第一条" in m.value for m in app.markdown)
    app = click(app, "publish-nev-1")
    assert "nev-1 的 v1 已发布" in texts(app)
    assert studio.get(tina, "nev-1").item.status is ItemStatus.PUBLISHED
    assert _live_text(services, "充电桩起火", "nev-1") is not None

    # an agent finds it in knowledge search
    app = _open(services, "knowledge_search", "alan")
    app.text_input(key="query").input("充电桩起火")
    app = _button(app, "检索")
    assert any(
        m.value.startswith("**") and "新能源汽车专属条款第一条" in m.value for m in app.markdown
    )

    # the live evaluation moved
    app = _open(services, "studio_eval", "tina")
    app = click_job(app, services, "eval_run")
    r5 = next(m for m in app.metric if m.label == "R@5")
    assert float(r5.value) == pytest.approx(1.0)
    assert "新答对的问题" in texts(app)

    # a new version, published, then rolled back to v1
    app = _open(services, "studio_kb", "tina")
    app.selectbox(key="kb_item").set_value("nev-1")
    app = run(app)
    app.text_area(key="edit-nev-1-v1-text").input("自用充电桩起火造成的损失，保险人不负责赔偿。")
    app.text_input(key="edit-nev-1-v1-note").input("误改")
    app = _button(app, "保存为新版本")
    assert "已保存 nev-1 的 v2" in texts(app)
    app.text_input(key="submit-note-nev-1").input("请审核")
    app = click(app, "submit-nev-1")
    assert "nev-1 已提交审核" in texts(app)
    diff_rows = [m.value for m in app.markdown if "background[" in m.value]
    assert diff_rows, "the side-by-side diff of v1 and v2"

    app = _open(services, "studio_review", "rita")
    app = click(app, "publish-nev-1")
    assert "不负责" in (_live_text(services, "充电桩起火", "nev-1") or "")

    app = _open(services, "studio_kb", "rita")
    app.selectbox(key="kb_item").set_value("nev-1")
    app = run(app)
    assert app.selectbox(key="rollback-to-nev-1").options == ["v1"]
    app.text_input(key="rollback-note-nev-1").input("恢复原条款")
    app = click(app, "rollback-nev-1")
    assert "nev-1 已回滚到 v1" in texts(app)
    assert _live_text(services, "充电桩起火", "nev-1") == (
        "自用充电桩起火造成被保险新能源汽车损失的，保险人负责赔偿。"
    )
    detail = studio.get(tina, "nev-1")
    assert (detail.item.current_version, detail.item.published_version) == (3, 3)
    assert any("rollback to v1" in d.value.to_string() for d in app.dataframe)  # the versions


def test_a_bad_file_is_reported_and_the_good_one_still_previews(studio_services: Services) -> None:
    app = _open(studio_services, "studio_import", "tina")
    app.file_uploader[0].set_value(
        [
            ("nev.md", NEV.encode("utf-8"), "text/markdown"),
            ("empty.txt", b"   ", "text/plain"),
            ("broken.pdf", b"%PDF-1.4 not really", "application/pdf"),
        ]
    )
    app = click(app, "import_preview")
    results = app.dataframe[0].value
    assert list(results.iloc[:, 1].str.startswith("✅")) == [True, False, False]
    errors = [e.value for e in app.error]
    assert any(e.startswith("empty.txt：没有内容") for e in errors)
    assert any(e.startswith("broken.pdf：无法读取") for e in errors)
    assert app.selectbox(key="import_pick").options == ["nev.md"]
    # a fix that does not apply is refused with a message, not a traceback
    app.number_input(key="fix-merge_i-0-2").set_value(1)
    app.number_input(key="fix-merge_j-0-2").set_value(1)
    app = click(app, "fix-merge")
    assert any(e.value.startswith("无法修正：") for e in app.error)


def test_publishing_your_own_draft_is_refused_with_the_reason(studio_services: Services) -> None:
    app = _open(studio_services, "studio_kb", "sam")
    app.selectbox(key="new_kind").set_value(ItemKind.FAQ)
    app = run(app)
    app.text_input(key="new-id").input("faq-charging")
    app.text_input(key="new-title").input("充电桩自燃怎么报案")
    app.text_area(key="new-text").input("请先确保人身安全，拨打119后联系保险公司报案。")
    app = _button(app, "创建草稿")
    assert "已创建草稿 faq-charging" in texts(app)
    assert app.selectbox(key="kb_item").value == "faq-charging"
    app = click(app, "submit-faq-charging")
    app = _open(studio_services, "studio_review", "sam")
    assert "这是你写的版本" in texts(app)
    app = click(app, "publish-faq-charging")
    error = " ".join(e.value for e in app.error)
    assert error.startswith("未发布：") and "sam wrote version 1" in error
    # request changes needs a note; with one the draft goes back to its author
    app = click(app, "changes-faq-charging")
    assert "退回修改时请写明" in texts(app)
    app.text_input(key="review-note-faq-charging").input("请补充报案电话")
    app = click(app, "changes-faq-charging")
    item = studio_services.studio.get(studio_services.accounts.get("sam"), "faq-charging").item
    assert (item.status, item.review_note) == (ItemStatus.DRAFT, "请补充报案电话")


def test_invalid_content_is_refused_with_a_message(studio_services: Services) -> None:
    app = _open(studio_services, "studio_kb", "tina")
    app.selectbox(key="kb_item").set_value("t-1")
    app = run(app)
    app.date_input(key="edit-t-1-v1-expiry_date").set_value(date(2019, 1, 1))  # before effective
    app = _button(app, "保存为新版本")
    assert any(e.value.startswith("未保存：") and "expiry" in e.value for e in app.error)
    app.date_input(key="edit-t-1-v1-expiry_date").set_value(None)
    app.text_area(key="edit-t-1-v1-text").input("   ")
    app = _button(app, "保存为新版本")
    assert any("needs text" in e.value for e in app.error)


def test_a_rule_and_a_term_are_edited_as_typed_fields(studio_services: Services) -> None:
    services, tina = studio_services, studio_services.accounts.get("tina")
    shipped = ComplianceGuard.load(services.settings.compliance_rules).rules
    rule = next(r for r in shipped if r.id == "promise-full-payout")
    services.studio.seed_contents(rule_seed_entries([rule], "compliance_rules.yaml"))
    app = _open(services, "studio_kb", "tina")
    app.selectbox(key="kb_item").set_value(rule.id)
    app = run(app)
    form = f"edit-{rule.id}-v1"
    assert app.text_area(key=f"{form}-patterns").value == "\n".join(rule.patterns)  # one a line
    app.text_area(key=f"{form}-patterns").input("\n".join([*rule.patterns, "全额(赔付"]))
    app = _button(app, "保存为新版本")
    assert any(e.value.startswith("未保存：") and "'全额(赔付'" in e.value for e in app.error)
    app.text_area(key=f"{form}-patterns").input("\n".join([*rule.patterns, "稳稳到手"]))
    app = _button(app, "保存为新版本")
    assert f"已保存 {rule.id} 的 v2" in texts(app)
    saved = services.studio.get(tina, rule.id).current.content
    assert isinstance(saved, RuleContent)
    assert saved.rule == rule.model_copy(update={"patterns": [*rule.patterns, "稳稳到手"]})

    app.selectbox(key="new_kind").set_value(ItemKind.TERM_MAP)
    app = run(app)
    app.text_input(key="new-id").input("term-趴窝")
    app.text_input(key="new-expression").input("趴窝")
    app.text_input(key="new-synonyms").input("故障、道路救援")
    app = _button(app, "创建草稿")
    assert "已创建草稿 term-趴窝" in texts(app)
    term = services.studio.get(tina, "term-趴窝").current.content
    assert term == TermContent(term=TermEntry(expression="趴窝", synonyms=["故障", "道路救援"]))


def test_golden_questions_are_edited_in_the_page(studio_services: Services) -> None:
    app = _open(studio_services, "studio_eval", "tina")
    app.text_input(key="golden-new-question").input("酒后开车出险赔不赔")
    app.text_input(key="golden-new-expected").input("t-3")
    app = _button(app, "添加问题")
    added = next(q for q in studio_services.golden.list() if q.question == "酒后开车出险赔不赔")
    assert added.expected_ids == ["t-3"] and added.author == "tina"
    app.selectbox(key="golden_pick").set_value(added.id)
    app = run(app)
    app.text_input(key=f"golden-e-{added.id}").input("t-3、t-1")
    app = _button(app, "保存修改")
    assert studio_services.golden.get(added.id).expected_ids == ["t-3", "t-1"]
    app.text_input(key="golden-new-question").input("   ")
    app.text_input(key="golden-new-expected").input("t-1")
    app = _button(app, "添加问题")
    assert any(e.value.startswith("无法完成：") for e in app.error)
    app = click(app, f"golden-remove-{added.id}")
    assert added.id not in [q.id for q in studio_services.golden.list()]


def _chart_series(app: AppTest) -> tuple[set[str], int]:
    """The series of the page's one chart and how many distinct times it plots."""
    import pyarrow as pa

    (chart,) = app.get("vega_lite_chart")
    (dataset,) = chart.proto.datasets
    table = pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    series = {str(v) for row in table for k, v in row.items() if k.startswith("color")}
    return series, len({row["时间"] for row in table})


def test_evaluation_charts_the_live_runs_and_keeps_the_misses_collapsed(
    studio_services: Services,
) -> None:
    app = _open(studio_services, "studio_eval", "tina")
    assert not app.get("vega_lite_chart")  # no live run yet
    assert "完成两次在线评测后" in texts(app)
    assert "R@k（前 k 名召回率）" in texts(app) and "MRR@10（平均倒数排名）" in texts(app)

    app = click_job(app, studio_services, "eval_run")
    (misses,) = [e for e in app.expander if e.label.startswith("未命中")]
    assert misses.label == "未命中（1/3）" and not misses.proto.expanded
    assert any("充电桩起火烧了车能赔吗" in m.value for m in misses.markdown)
    assert not app.get("vega_lite_chart")  # one live run is not a trend yet

    app = click(app, "eval_drafts")  # no drafts: said at once, and nothing is run
    assert "没有未发布的草稿" in " ".join(i.value for i in app.info)
    assert len(studio_services.eval_runs.history()) == 1

    app = click_job(app, studio_services, "eval_run")
    assert _chart_series(app) == ({"R@1", "R@3", "R@5", "MRR@10"}, 2)
    assert "完成两次在线评测后" not in texts(app)

    app.session_state["lang"] = "en"
    app = run(app)
    assert "R@k (recall at k)" in texts(app) and "MRR@10 (mean reciprocal rank)" in texts(app)


def test_the_feedback_queue_links_to_the_item(studio_services: Services) -> None:
    vote = studio_services.feedback.record(
        NewFeedback(
            passage_id="t-1",
            citation="测试条款第一条",
            kind="clause",
            question="地库被淹了能赔吗",
            helpful=False,
            agent="alan",
        )
    )
    app = logged_in(AppTest.from_file(APP, default_timeout=60), studio_services, "tina")
    app = run(app)
    app.switch_page("ui/pages/studio_feedback.py")
    app = run(app)
    assert "地库被淹了能赔吗" in texts(app) and "👎" in texts(app)
    links = app.get("page_link")
    assert links and "item=t-1" in str(links[0].proto)
    app = click(app, f"reviewed-{vote.id}")
    assert studio_services.feedback.votes() == []
    assert "暂无待处理的反馈" in texts(app)


def test_routing_review_labels_a_decision_and_exports_it(studio_services: Services) -> None:
    log = studio_services.routing_reviews
    entry = log.record(
        NewReview(
            session_id="S-ui",
            kind=ReviewKind.OVERRULED,
            text="投诉一般多久有结果",
            route="bot",
            intent="complaint",
            overruled=[Reason.COMPLAINT],
            learned_p=0.03,
        )
    )
    app = _open(studio_services, "studio_routing", "tina")
    assert "投诉一般多久有结果" in texts(app)
    assert app.download_button[0].proto.disabled  # nothing labelled yet
    # the suggested label is the route it took; the overruled trigger is offered as the reason
    assert app.radio(key=f"routing-route-{entry.id}").value == "bot"
    assert app.multiselect(key=f"routing-reasons-{entry.id}").value == ["complaint"]
    app.radio(key=f"routing-route-{entry.id}").set_value("human")
    app = run(app)
    app.multiselect(key=f"routing-reasons-{entry.id}").set_value([])
    app = click(app, f"routing-save-{entry.id}")
    assert any("needs at least one reason" in e.value for e in app.error)
    assert log.get(entry.id).label_route is None
    app.multiselect(key=f"routing-reasons-{entry.id}").set_value(["complaint"])
    app = click(app, f"routing-save-{entry.id}")
    stored = log.get(entry.id)
    assert (stored.label_route, stored.label_reasons, stored.labelled_by) == (
        "human",
        [Reason.COMPLAINT],
        "tina",
    )
    assert "暂无待复核的路由决定" in texts(app)
    assert not app.download_button[0].proto.disabled
    assert [e.action for e in studio_services.audit.entries(AuditFilter(target=entry.id))] == [
        "routing.label"
    ]


def test_the_audit_log_filters_and_exports(studio_services: Services) -> None:
    services = studio_services
    _import_and_submit(services)
    app = _open(services, "audit", "sam")
    table = app.dataframe[0].value
    assert {"kb.seed", "kb.create", "kb.submit"} <= set(table["操作"])
    app.text_input(key="audit_actor").input("tina")
    app.text_input(key="audit_action").input("kb.submit")
    app = run(app)
    table = app.dataframe[0].value
    assert set(table["操作人"]) == {"tina"} and set(table["操作"]) == {"kb.submit"}
    assert len(table) == len(services.audit.entries(AuditFilter(actor="tina", action="kb.submit")))
    assert app.download_button[0].label == "导出 CSV"


def test_a_supervisor_manages_users(studio_services: Services) -> None:
    app = _open(studio_services, "users", "sam")
    assert set(app.dataframe[0].value["用户名"]) == {"alan", "rita", "sam", "tina"}
    app.text_input(key="user-new-name").input("nina")
    app.text_input(key="user-new-display").input("倪娜")
    app.text_input(key="user-new-password").input("short")
    app.multiselect(key="user-new-roles").set_value([Role.TRAINER])
    app = _button(app, "新增用户")
    assert any("at least 10 characters" in e.value for e in app.error)
    assert app.text_input(key="user-new-display").value == "倪娜"  # kept for correcting
    assert app.multiselect(key="user-new-roles").value == [Role.TRAINER]
    app.text_input(key="user-new-password").input("Trainer-Pass-26")
    app = _button(app, "新增用户")
    assert "已创建用户 nina" in texts(app)
    assert studio_services.accounts.authenticate("nina", "Trainer-Pass-26").display_name == "倪娜"

    app.selectbox(key="user_pick").set_value("nina")
    app = run(app)
    app.multiselect(key="user-roles-nina").set_value([Role.TRAINER, Role.REVIEWER])
    app = click(app, "user-save-nina")
    assert studio_services.accounts.get("nina").sorted_roles() == ["trainer", "reviewer"]
    app = click(app, "user-off-nina")
    assert not studio_services.accounts.get("nina").active
    app = click(app, "user-on-nina")
    assert studio_services.accounts.get("nina").active

    actions = [e.action for e in studio_services.audit.entries(AuditFilter(target="nina"))]
    assert actions == ["user.activate", "user.deactivate", "user.roles", "user.add"]
    assert {e.actor for e in studio_services.audit.entries(AuditFilter(target="nina"))} == {"sam"}
    app.selectbox(key="user_pick").set_value("sam")
    app = run(app)
    app = click(app, "user-off-sam")
    assert "不能停用自己的账号" in texts(app)
    assert studio_services.accounts.get("sam").active


def test_studio_pages_render_in_english(studio_services: Services) -> None:
    for name, header in [
        ("studio_kb", "Knowledge base"),
        ("studio_import", "Import documents"),
        ("studio_review", "Review queue"),
        ("studio_eval", "Retrieval evaluation"),
        ("studio_feedback", "Agents' feedback"),
        ("studio_routing", "Chatbot routing review"),
        ("audit", "Audit log"),
        ("users", "Users"),
    ]:
        app = logged_in(AppTest.from_file(page(name), default_timeout=60), studio_services, "sam")
        app.session_state["lang"] = "en"
        app = run(app)
        assert app.header[0].value == header, name


def test_an_evaluation_is_a_job_the_page_follows_and_shows_again_later(
    studio_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = studio_services
    monkeypatch.setattr(services.settings, "jobs_mode", "queue")  # a worker process runs jobs
    app = _open(services, "studio_eval", "tina")
    app = click(app, "eval_run")
    (job,) = services.jobs.recent("golden_eval")
    assert job.state is JobState.QUEUED and job.requested_by == "tina"
    (bar,) = app.get("progress")
    assert "policydesk jobs worker" in bar.proto.text  # queued: waiting for a worker
    assert app.button(key="eval_run").disabled and app.button(key="eval_drafts").disabled
    assert not app.metric  # no result yet

    ended = services.job_runner("worker:1").run_next()  # the worker process
    assert ended is not None and ended.state is JobState.DONE
    app = run(app)  # the progress fragment saw the job end and reran the page
    assert float(next(m.value for m in app.metric if m.label == "R@5")) == pytest.approx(
        2 / 3, abs=1e-3
    )
    assert not app.get("progress") and not app.button(key="eval_run").disabled

    # the trainer comes back in a new session: the latest job's result is still there
    again = _open(services, "studio_eval", "tina")
    assert f"后台作业 #{job.id} 的结果" in texts(again)
    assert float(next(m.value for m in again.metric if m.label == "R@5")) == pytest.approx(
        2 / 3, abs=1e-3
    )
    assert not _open(services, "studio_eval", "sam").metric  # another user's job is not shown


def test_a_cancelled_evaluation_says_so(
    studio_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(studio_services.settings, "jobs_mode", "queue")
    app = click(_open(studio_services, "studio_eval", "tina"), "eval_run")
    (job,) = studio_services.jobs.recent("golden_eval")
    app = click(app, f"job-cancel-{job.id}")
    assert studio_services.jobs.get(job.id).state is JobState.CANCELLED
    assert f"后台作业 #{job.id} 已取消。" in texts(app)
    assert studio_services.job_runner("worker:1").run_next() is None  # nothing left to run
