"""Document import with preview: reading uploads, proposed articles, warnings, fixes, batches."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from core.errors import IngestError
from core.models import PassageKind
from knowledge.parsing import split_document
from studio.importer import (
    CONTINUED,
    MAX_IMPORT_BYTES,
    ImportPreview,
    ImportProblem,
    ImportRejectedError,
    PreviewEditError,
    SplitScheme,
    WarningCode,
    import_batch,
    merge_articles,
    preview_document,
    rename_article,
    split_article,
)

CLAUSES = """---
doc_id: pile
document: 充电桩损失保险条款
version: 2021版
product: nev
effective_date: 2021-12-14
kind: clause
---
# 充电桩损失保险条款
# 第一章 保险责任
### 第一条 【保险责任】
保险期间内，被保险人自用的充电桩因火灾、爆炸、自然灾害造成的损失，保险人负责赔偿。
### 第二条
充电桩因被盗窃、抢劫、抢夺造成的损失，经公安机关立案证明的，保险人负责赔偿。
# 第二章 责任免除
### 第三条
充电桩的自然磨损、锈蚀、老化以及安装不当造成的损失，保险人不负责赔偿。
"""


CLAUSE_FIELDS = {
    "document": "条款",
    "product": "p",
    "effective_date": "2020-01-01",
    "version": "1",
    "kind": "clause",
}


def _front(**fields: str) -> str:
    return "---\n" + "".join(f"{key}: {value}\n" for key, value in fields.items()) + "---\n"


def _codes(preview: ImportPreview) -> list[WarningCode]:
    return [w.code for w in preview.warnings]


def _rejected(filename: str, raw: bytes) -> ImportRejectedError:
    with pytest.raises(ImportRejectedError) as info:
        preview_document(filename, raw, None)
    assert filename.split("/")[-1] in str(info.value)
    return info.value


# --- previews -----------------------------------------------------------------------------


def test_markdown_articles_are_proposed_with_ids_citations_and_metadata() -> None:
    preview = preview_document("pile.md", CLAUSES.encode("utf-8"), None)
    assert preview.scheme is SplitScheme.ARTICLE
    assert preview.meta.doc_id == "pile" and preview.meta.product == "nev"
    assert preview.meta.effective_date == date(2021, 12, 14)
    assert [(a.id, a.number, a.article) for a in preview.articles] == [
        ("pile-1", 1, "第一条"),
        ("pile-2", 2, "第二条"),
        ("pile-3", 3, "第三条"),
    ]
    first, _, third = preview.articles
    assert first.title == "第一章 保险责任 · 第一条【保险责任】"
    assert first.citation == "充电桩损失保险条款第一条"
    assert first.kind is PassageKind.CLAUSE
    assert first.chars == len(first.text) and first.text.startswith("保险期间内")
    assert third.title == "第二章 责任免除 · 第三条"
    assert preview.warnings == []


def test_passages_match_what_ingest_would_store() -> None:
    preview = preview_document("pile.md", CLAUSES.encode("utf-8"), None)
    assert preview.passages() == split_document(CLAUSES, Path("pile.md"))


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("pile.md", CLAUSES),
        ("faq.md", "---\nkind: faq\n---\n## 1. 怎么报案？\n拨打热线。\n## 2. 要带什么？\n证件。\n"),
        ("guide.md", "# 服务指南\n\n第一段说明文字。\n\n## 小节\n第二段说明文字。\n"),
    ],
)
def test_rebuilt_ids_labels_and_citations_agree_with_the_splitter(filename: str, text: str) -> None:
    preview = preview_document(filename, text.encode("utf-8"), None)
    # renaming to the same title rebuilds every id, label and citation with the importer's rules
    rebuilt = rename_article(preview, 0, preview.articles[0].title or "标题")
    assert [(a.id, a.article, a.citation) for a in rebuilt.articles] == [
        (p.id, p.article, p.citation) for p in split_document(text, Path(filename))
    ]


def test_missing_front_matter_is_warned_with_the_defaults_used() -> None:
    text = "# 车损险条款\n第一条 因暴雨造成的车辆损失，保险人负责赔偿。\n"
    preview = preview_document("车损 条款.md", text.encode("utf-8"), None)
    missing = {w.field: w.message for w in preview.warnings if w.code is WarningCode.MISSING_FIELD}
    assert set(missing) == {"doc_id", "document", "kind", "product", "effective_date", "version"}
    assert "'车损-条款'" in missing["doc_id"]
    assert "'车损险条款'" in missing["document"]
    assert "in force on every date" in missing["effective_date"]
    assert preview.articles[0].id == "车损-条款-1"


def test_default_kind_is_used_and_not_warned_about() -> None:
    text = (
        "---\ndoc_id: faq\ndocument: 常见问题\n---\n"
        "1. 怎么报案？拨打客服热线报案。\n2. 要带什么？带身份证和行驶证。\n"
    )
    preview = preview_document("faq.txt", text.encode("utf-8"), PassageKind.FAQ)
    assert preview.meta.kind is PassageKind.FAQ
    assert preview.scheme is SplitScheme.NUMBERED
    assert [a.article for a in preview.articles] == ["第1问", "第2问"]
    # a FAQ needs neither product nor effective date, and numbered questions are its norm
    assert preview.warnings == []


def test_gbk_text_file_is_decoded() -> None:
    raw = "第一条 车辆自燃造成的损失，保险人负责赔偿。\n第二条 自燃仅指车辆本身原因起火。\n".encode(
        "gbk"
    )
    preview = preview_document("自燃.txt", raw, None)
    assert [a.id for a in preview.articles] == ["自燃-1", "自燃-2"]
    assert preview.articles[0].text == "车辆自燃造成的损失，保险人负责赔偿。"


def test_docx_headings_become_context_and_articles_are_split() -> None:
    import docx

    document = docx.Document()
    document.add_heading("充电桩条款", level=1)
    document.add_heading("保险责任", level=2)
    document.add_paragraph("第一条 自用充电桩因火灾造成的损失，保险人负责赔偿。")
    document.add_paragraph("第二条 充电桩因被盗造成的损失，保险人负责赔偿。")
    buffer = io.BytesIO()
    document.save(buffer)
    preview = preview_document("pile.docx", buffer.getvalue(), None)
    assert preview.meta.document == "充电桩条款"
    assert [a.id for a in preview.articles] == ["pile-1", "pile-2"]
    assert preview.articles[0].title == "保险责任 · 第一条"
    assert preview.articles[0].citation == "充电桩条款第一条"


def test_text_without_headings_falls_back_to_paragraphs_with_a_warning() -> None:
    text = _front(doc_id="g", document="指南", kind="faq")
    text += "报案请拨打热线，说明时间地点。\n\n定损后再修车，保留维修发票。\n"
    preview = preview_document("g.md", text.encode("utf-8"), None)
    assert preview.scheme is SplitScheme.PARAGRAPH
    assert [(a.id, a.article) for a in preview.articles] == [("g-p1", "第1段"), ("g-p2", "第2段")]
    assert _codes(preview) == [WarningCode.NO_ARTICLE_HEADINGS]
    assert "2 paragraphs" in preview.warnings[0].message


def test_clause_split_at_numbered_sections_is_warned() -> None:
    text = _front(doc_id="c", **CLAUSE_FIELDS)
    text += "1. 暴雨造成的车辆损失，保险人负责赔偿。\n2. 车辆被盗抢的损失，保险人负责赔偿。\n"
    preview = preview_document("c.md", text.encode("utf-8"), None)
    assert preview.scheme is SplitScheme.NUMBERED
    assert _codes(preview) == [WarningCode.NO_ARTICLE_HEADINGS]


def test_duplicate_article_numbers_are_shown_not_refused() -> None:
    text = CLAUSES.replace("### 第三条", "### 第二条")
    preview = preview_document("pile.md", text.encode("utf-8"), None)
    assert [a.id for a in preview.articles] == ["pile-1", "pile-2", "pile-2-2"]
    assert [a.article for a in preview.articles] == ["第一条", "第二条", "第二条"]
    assert preview.articles[2].title == "第二章 责任免除 · 第二条"
    assert preview.articles[2].citation == "充电桩损失保险条款第二条"
    duplicate = next(w for w in preview.warnings if w.code is WarningCode.DUPLICATE_NUMBER)
    assert duplicate.articles == [1, 2] and "pile-2, pile-2-2" in duplicate.message


def test_number_gap_long_and_short_articles_are_warned() -> None:
    body = "第一条 " + "保险人负责赔偿。" * 200 + "\n第三条 不赔。\n"
    text = _front(doc_id="w", **CLAUSE_FIELDS)
    preview = preview_document("w.md", (text + body).encode("utf-8"), None)
    by_code = {w.code: w for w in preview.warnings}
    assert set(by_code) == {
        WarningCode.NUMBER_GAP,
        WarningCode.LONG_ARTICLE,
        WarningCode.SHORT_ARTICLE,
    }
    assert by_code[WarningCode.NUMBER_GAP].articles == [0, 1]
    assert "第三条 follows 第一条" in by_code[WarningCode.NUMBER_GAP].message
    assert by_code[WarningCode.LONG_ARTICLE].articles == [0]
    assert by_code[WarningCode.SHORT_ARTICLE].articles == [1]


def test_client_side_path_in_the_file_name_is_dropped() -> None:
    preview = preview_document("C:\\Users\\me\\pile.md", CLAUSES.encode("utf-8"), None)
    assert preview.filename == "pile.md"
    assert preview.passages()[0].source == "pile.md"


# --- rejected files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "raw", "problem", "reason"),
    [
        (
            "table.xlsx",
            b"PK\x03\x04",
            ImportProblem.UNSUPPORTED_TYPE,
            "unsupported file type .xlsx",
        ),
        ("README", b"text", ImportProblem.UNSUPPORTED_TYPE, "(no extension)"),
        ("cases.jsonl", b'{"id": "x"}', ImportProblem.UNSUPPORTED_TYPE, ".jsonl"),
        ("empty.md", b"", ImportProblem.EMPTY, "the file is empty"),
        ("blank.txt", b"  \n\n", ImportProblem.EMPTY, "the file is empty"),
        ("meta.md", b"---\ndoc_id: m\n---\n\n", ImportProblem.EMPTY, "no text body"),
        ("binary.txt", b"\xff\xfe\x00\x00\x81\x00", ImportProblem.UNDECODABLE, "UTF-8 or GBK"),
        ("broken.docx", b"not a zip", ImportProblem.UNREADABLE, "not a readable DOCX"),
        ("broken.pdf", b"%PDF-1.4 garbage", ImportProblem.UNREADABLE, "PDF"),
        (
            "bad.md",
            "---\neffective_date: 2020-13-45\n---\n第一条 甲。".encode(),
            ImportProblem.PARSE_ERROR,
            "effective_date",
        ),
        ("open.md", b"---\ndoc_id: x\n", ImportProblem.PARSE_ERROR, "never ends"),
        (
            "line.md",
            "---\n第一条\n---\n第一条 甲。".encode(),
            ImportProblem.PARSE_ERROR,
            "key: value",
        ),
        ("a#b.md", "第一条 甲。".encode(), ImportProblem.PARSE_ERROR, "must not contain"),
    ],
)
def test_bad_files_are_rejected_with_the_problem_and_reason(
    filename: str, raw: bytes, problem: ImportProblem, reason: str
) -> None:
    error = _rejected(filename, raw)
    assert error.problem is problem
    assert reason in error.reason
    assert isinstance(error, IngestError)


def test_file_over_ten_megabytes_is_refused_before_reading() -> None:
    error = _rejected("huge.txt", b"a" * (MAX_IMPORT_BYTES + 1))
    assert error.problem is ImportProblem.TOO_LARGE and "10 MB" in error.reason


def test_pdf_without_text_is_empty() -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    error = _rejected("scan.pdf", buffer.getvalue())
    assert error.problem is ImportProblem.EMPTY and "OCR" in error.reason


# --- fixing a split -----------------------------------------------------------------------

RUN_ON = """---
doc_id: t
document: 测试条款
version: 2020版
product: commercial
effective_date: 2020-09-19
kind: clause
---
# 第一章 保险责任
第一条 【车损】车辆被暴雨淹没的，保险人负责赔偿。第二条 【盗抢】全车被盗抢的，保险人负责赔偿。
第三条约定的盗抢损失，须经公安机关立案证明。
第三条 被保险机动车改变使用性质从事营运的，保险人不负责赔偿。
"""


def test_fixing_sequence_merge_split_rename() -> None:
    preview = preview_document("t.md", RUN_ON.encode("utf-8"), None)
    # the splitter missed 第二条 (same line) and took a cross-reference for a second 第三条
    assert [a.id for a in preview.articles] == ["t-1", "t-3", "t-3-2"]
    assert set(_codes(preview)) == {WarningCode.DUPLICATE_NUMBER, WarningCode.NUMBER_GAP}

    merged = merge_articles(preview, 0, 1)
    assert [a.id for a in merged.articles] == ["t-1", "t-3"]
    assert merged.articles[0].text.endswith(
        "保险人负责赔偿。\n第三条约定的盗抢损失，须经公安机关立案证明。"
    )
    assert _codes(merged) == [WarningCode.NUMBER_GAP]

    at = merged.articles[0].text.index("第二条")
    fixed = split_article(merged, 0, at)
    assert [(a.id, a.article) for a in fixed.articles] == [
        ("t-1", "第一条"),
        ("t-2", "第二条"),
        ("t-3", "第三条"),
    ]
    second = fixed.articles[1]
    assert second.title == "第一章 保险责任 · 第二条【盗抢】"
    assert second.citation == "测试条款第二条"
    assert (
        second.text
        == "全车被盗抢的，保险人负责赔偿。\n第三条约定的盗抢损失，须经公安机关立案证明。"
    )
    assert fixed.articles[0].text.endswith("保险人负责赔偿。")
    assert fixed.warnings == []

    renamed = rename_article(fixed, 2, "  第一章 保险责任 · 第三条【营运】 ")
    assert renamed.articles[2].title == "第一章 保险责任 · 第三条【营运】"
    assert renamed.articles[2].id == "t-3"
    assert [p.id for p in renamed.passages()] == ["t-1", "t-2", "t-3"]
    # previews are values: every fix returned a copy
    assert [a.id for a in preview.articles] == ["t-1", "t-3", "t-3-2"]


def test_split_without_a_heading_continues_the_article_and_merging_undoes_it() -> None:
    preview = preview_document("pile.md", CLAUSES.encode("utf-8"), None)
    original = preview.articles[0]
    at = original.text.index("保险人负责赔偿")
    split = split_article(preview, 0, at)
    assert [a.id for a in split.articles] == ["pile-1", "pile-1-2", "pile-2", "pile-3"]
    assert split.articles[1].title == original.title + CONTINUED
    assert split.articles[1].citation == original.citation
    assert WarningCode.DUPLICATE_NUMBER in _codes(split)
    undone = merge_articles(split, 0, 1)
    assert undone.articles[0].text == original.text.replace("，保险人", "，\n保险人")
    assert undone.warnings == []


def test_paragraphs_are_renumbered_after_a_fix() -> None:
    text = _front(doc_id="g", document="指南", kind="faq")
    text += "# 报案\n第一段说明。\n\n第二段说明。\n\n# 定损\n第三段说明。\n"
    preview = preview_document("g.md", text.encode("utf-8"), None)
    assert [a.id for a in preview.articles] == ["g-p1", "g-p2", "g-p3"]
    merged = merge_articles(preview, 1, 2)
    assert [(a.id, a.article, a.citation) for a in merged.articles] == [
        ("g-p1", "第1段", "指南 第1段"),
        ("g-p2", "第2段", "指南 第2段"),
    ]
    # the merged-in paragraph sat under another heading, which it keeps in the text
    assert merged.articles[1].text == "第二段说明。\n定损\n第三段说明。"
    split = split_article(merged, 0, 3)
    assert [a.id for a in split.articles] == ["g-p1", "g-p2", "g-p3"]
    assert [a.text for a in split.articles[:2]] == ["第一段", "说明。"]
    assert split.articles[1].title == "报案"


def test_numbered_split_takes_the_section_number_and_question() -> None:
    text = _front(doc_id="faq", document="常见问题", kind="faq")
    text += "## 1. 怎么报案？\n拨打热线。\n2. 要带什么？\n证件。\n"
    preview = preview_document("faq.md", text.encode("utf-8"), None)
    assert [a.id for a in preview.articles] == ["faq-1", "faq-2"]
    merged = merge_articles(preview, 0, 1)
    assert merged.articles[0].text == "拨打热线。\n2. 要带什么？\n证件。"
    again = split_article(merged, 0, merged.articles[0].text.index("2."))
    assert [(a.id, a.title, a.text) for a in again.articles] == [
        ("faq-1", "怎么报案？", "拨打热线。"),
        ("faq-2", "要带什么？", "证件。"),
    ]


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        (lambda p: merge_articles(p, 1, 1), "cannot merge articles 1 to 1"),
        (lambda p: merge_articles(p, 2, 1), "cannot merge"),
        (lambda p: merge_articles(p, 0, 3), "< 3"),
        (lambda p: merge_articles(p, -1, 1), "cannot merge"),
        (lambda p: split_article(p, 0, 0), "at character 0"),
        (lambda p: split_article(p, 0, 10_000), "at character 10000"),
        (lambda p: split_article(p, 3, 5), "no article 3"),
        (lambda p: rename_article(p, 0, "   "), "non-blank"),
        (lambda p: rename_article(p, 0, "一\n二"), "one non-blank line"),
        (lambda p: rename_article(p, 0, "长" * 201), "200"),
        (lambda p: rename_article(p, -1, "标题"), "no article -1"),
    ],
)
def test_bad_fixes_are_refused(fix: object, message: str) -> None:
    preview = preview_document("pile.md", CLAUSES.encode("utf-8"), None)
    with pytest.raises(PreviewEditError, match=message.replace("(", r"\(")):
        fix(preview)  # type: ignore[operator]


# --- batches ------------------------------------------------------------------------------


def test_batch_reports_each_file_and_keeps_going_after_failures() -> None:
    report = import_batch(
        [
            ("pile.md", CLAUSES.encode("utf-8")),
            ("table.xlsx", b"PK\x03\x04"),
            ("empty.txt", b""),
            ("gbk.txt", "第一条 车辆自燃的损失，保险人负责赔偿。".encode("gbk")),
            ("binary.md", b"\xff\xfe\x00\x00\x81\x00"),
            ("huge.txt", b"a" * (MAX_IMPORT_BYTES + 1)),
        ],
        PassageKind.CLAUSE,
    )
    assert [(r.filename, r.ok, r.articles, r.problem) for r in report.results] == [
        ("pile.md", True, 3, None),
        ("table.xlsx", False, 0, ImportProblem.UNSUPPORTED_TYPE),
        ("empty.txt", False, 0, ImportProblem.EMPTY),
        ("gbk.txt", True, 1, None),
        ("binary.md", False, 0, ImportProblem.UNDECODABLE),
        ("huge.txt", False, 0, ImportProblem.TOO_LARGE),
    ]
    assert [p.filename for p in report.previews] == ["pile.md", "gbk.txt"]
    assert [r.filename for r in report.succeeded] == ["pile.md", "gbk.txt"]
    assert all(r.reason for r in report.failed)
    assert "UTF-8 or GBK" in report.results[4].reason
    assert report.results[3].warnings == len(report.previews[1].warnings) > 0


def test_batch_refuses_a_file_whose_ids_clash_with_an_earlier_one() -> None:
    report = import_batch(
        [("pile.md", CLAUSES.encode("utf-8")), ("copy/pile.txt", CLAUSES.encode("utf-8"))]
    )
    assert [r.ok for r in report.results] == [True, False]
    clash = report.results[1]
    assert clash.problem is ImportProblem.DUPLICATE_ID
    assert "pile-1" in clash.reason and "pile.md" in clash.reason
    assert len(report.previews) == 1


def test_empty_batch_is_an_empty_report() -> None:
    report = import_batch([])
    assert report.results == [] and report.previews == []
