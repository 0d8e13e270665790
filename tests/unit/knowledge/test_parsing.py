from datetime import date
from pathlib import Path

import pytest

from core.errors import IngestError
from core.models import PassageKind
from knowledge.parsing import parse_front_matter, parse_jsonl, split_document

CLAUSES = """---
doc_id: demo
document: 示例条款（2020版）
version: 2020版
effective_date: 2020-09-19
product: commercial
kind: clause
---
# 示例条款（2020版）
# 第一章 总则
### 第一条 【合同构成】
本合同由条款、投保单和保险单构成。
### 第二条
被保险机动车是指保险单载明的车辆。
# 第二章 机动车损失保险
## 责任免除
第十条 下列损失不负责赔偿：
（一）自然磨损；
（二）依照本条款第二条约定以外的车辆。
"""


def test_articles_get_ids_citations_and_heading_context() -> None:
    passages = split_document(CLAUSES, Path("demo.md"))
    assert [p.id for p in passages] == ["demo-1", "demo-2", "demo-10"]
    first, _, tenth = passages
    assert first.citation == "示例条款（2020版）第一条"
    assert first.title == "第一章 总则 · 第一条【合同构成】"
    assert first.text == "本合同由条款、投保单和保险单构成。"
    assert first.effective_date == date(2020, 9, 19)
    assert first.product == "commercial"
    assert tenth.title == "第二章 机动车损失保险 · 责任免除 · 第十条"
    assert tenth.text.startswith("下列损失不负责赔偿：")
    assert "（二）依照本条款第二条约定以外的车辆。" in tenth.text
    assert tenth.article == "第十条"


def test_faq_numbered_sections() -> None:
    text = (
        "---\ndoc_id: faq\ndocument: 常见问题\nkind: faq\n---\n"
        "## 1. 怎么报案？\n拨打客服热线。\n## 2. 要带什么材料？\n身份证和行驶证。\n"
    )
    passages = split_document(text, Path("faq.md"))
    assert [(p.id, p.title, p.kind) for p in passages] == [
        ("faq-1", "怎么报案？", PassageKind.FAQ),
        ("faq-2", "要带什么材料？", PassageKind.FAQ),
    ]
    assert passages[0].citation == "常见问题 第1问"


def test_document_without_front_matter_defaults_from_heading_and_file() -> None:
    text = "# 服务指南\n\n第一段说明文字。\n\n## 小节\n第二段。\n"
    passages = split_document(text, Path("服务 指南.txt"))
    assert passages[0].document == "服务指南"
    assert passages[0].id == "服务-指南-p1"
    assert [p.text for p in passages] == ["第一段说明文字。", "第二段。"]
    assert passages[1].title == "小节"


def test_duplicate_article_is_an_error_naming_the_file() -> None:
    text = "第一条 甲。\n第一条 乙。\n"
    with pytest.raises(IngestError, match=r"dup\.md: duplicate passage id dup-1"):
        split_document(text, Path("dup.md"))


def test_bad_front_matter_date_names_the_field() -> None:
    text = "---\ndoc_id: x\neffective_date: 2020-13-45\n---\n第一条 甲。\n"
    with pytest.raises(IngestError, match="effective_date"):
        split_document(text, Path("x.md"))


def test_unterminated_front_matter() -> None:
    with pytest.raises(IngestError, match="never ends"):
        parse_front_matter("---\ndoc_id: x\ndocument: y\n", "x.md")


def test_article_references_inside_sentences_do_not_split() -> None:
    text = "第一条 甲。依照第二条处理。\n第二条 乙。\n"
    passages = split_document(text, Path("r.md"))
    assert [p.id for p in passages] == ["r-1", "r-2"]
    assert "依照第二条处理" in passages[0].text


def test_jsonl_passages_keep_ids_and_default_case_citation() -> None:
    text = (
        '{"id": "case-1", "kind": "case", "title": "泡水车", "text": "案情……", "outcome": "赔付"}\n'
        "\n"
        '{"id": "faq-x", "kind": "faq", "title": "报案", "text": "拨打热线", "citation": "FAQ 1"}\n'
    )
    passages = parse_jsonl(text, Path("p.jsonl"))
    assert [p.id for p in passages] == ["case-1", "faq-x"]
    assert passages[0].citation == "示例案例〔case-1〕泡水车"
    assert passages[0].outcome == "赔付"
    assert passages[1].citation == "FAQ 1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "a", "kind": "clause", "text": "x"}\n{bad json\n', "line 2: invalid JSON"),
        ('{"id": "a", "kind": "clause"}\n', "line 1: missing text"),
        ('{"id": "a", "kind": "poem", "text": "x"}\n', "line 1: kind"),
        ('{"id": "a b", "kind": "clause", "text": "x"}\n', "line 1: id"),
        (
            '{"id": "a", "kind": "clause", "text": "x"}\n{"id": "a", "kind": "faq", "text": "y"}\n',
            "line 2: duplicate id a",
        ),
        ("[1, 2]\n", "line 1: expected a JSON object"),
    ],
)
def test_jsonl_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        parse_jsonl(text, Path("bad.jsonl"))
