"""Ingest against real SQLite and real chromadb in a temp dir (fake embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import IndexNotBuiltError, IngestError
from core.models import PassageKind, SearchFilters, SearchRequest
from core.settings import Settings
from services.root import Services
from tests.fakes import FLOOD_ARTICLE, FRONT_MATTER, THEFT_ARTICLE, FakeEmbedder

pytestmark = pytest.mark.integration

CLAUSES = (
    FRONT_MATTER
    + "# 第一章 保险责任\n"
    + FLOOD_ARTICLE
    + THEFT_ARTICLE
    + """# 第二章 责任免除
### 第三条
被保险机动车未经通知改变使用性质从事营运，例如网约车，导致危险程度显著增加的，不负责赔偿。
"""
)

CASES = (
    '{"id": "case-1", "kind": "case", "title": "地库泡水获赔", '
    '"text": "暴雨导致地库积水，车辆被淹，保险公司按车损险赔付。", "outcome": "赔付"}\n'
    '{"id": "case-2", "kind": "case", "title": "网约车未告知被拒赔", '
    '"text": "车主从事网约车营运未告知，发生事故被拒赔。", "outcome": "拒赔"}\n'
)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    (root / "cases.jsonl").write_text(CASES, encoding="utf-8")
    return root


def _search(services: Services, query: str, **filters: object) -> list[str]:
    result = services.retriever().search(
        SearchRequest(query=query, k=5, filters=SearchFilters.model_validate(filters))
    )
    return [h.id for h in result.hits]


def test_ingest_then_search(fake_services: Services, kb: Path) -> None:
    report = fake_services.ingest.ingest([kb])
    assert (report.passages, report.added, report.updated, report.removed) == (5, 5, 0, 0)
    assert report.chunks_embedded == 5
    assert _search(fake_services, "车被水淹了")[0] == "t-1"
    assert _search(fake_services, "被盗窃六十天")[0] == "t-2"


def test_reingest_unchanged_embeds_nothing(
    fake_services: Services, kb: Path, fake_embedder: FakeEmbedder
) -> None:
    fake_services.ingest.ingest([kb])
    before = len(fake_embedder.embedded)
    report = fake_services.ingest.ingest([kb])
    assert report.chunks_embedded == 0 and report.unchanged == 5
    assert len(fake_embedder.embedded) == before


def test_reingest_embeds_only_the_changed_passage(
    fake_services: Services, kb: Path, fake_embedder: FakeEmbedder
) -> None:
    fake_services.ingest.ingest([kb])
    fake_embedder.embedded.clear()
    (kb / "clauses.md").write_text(CLAUSES.replace("六十天", "60天"), encoding="utf-8")
    report = fake_services.ingest.ingest([kb])
    assert (report.updated, report.added, report.unchanged) == (1, 0, 4)
    assert len(fake_embedder.embedded) == 1 and "60天" in fake_embedder.embedded[0]
    # unchanged passages are still searchable from copied vectors
    assert _search(fake_services, "车被水淹了")[0] == "t-1"
    assert "60天" in fake_services.retriever().passage("t-2").text  # type: ignore[union-attr]


def test_article_removed_from_a_file_is_removed_from_the_index(
    fake_services: Services, kb: Path
) -> None:
    fake_services.ingest.ingest([kb])
    trimmed = CLAUSES.split("# 第二章")[0]
    (kb / "clauses.md").write_text(trimmed, encoding="utf-8")
    report = fake_services.ingest.ingest([kb / "clauses.md"])
    assert report.removed == 1
    ids = {p.id for p in fake_services.catalog.passages()}
    assert ids == {"t-1", "t-2", "case-1", "case-2"}


def test_failed_embedding_keeps_the_previous_index(
    fake_services: Services, kb: Path, fake_embedder: FakeEmbedder
) -> None:
    fake_services.ingest.ingest([kb])
    before_catalog = fake_services.catalog.hashes()
    before_collections = fake_services.vector_index.collections()
    (kb / "clauses.md").write_text(CLAUSES.replace("暴雨", "台风暴雨"), encoding="utf-8")
    (kb / "more.md").write_text(
        "---\ndoc_id: m\n---\n第一条 新增加设备的损失。\n", encoding="utf-8"
    )
    fake_embedder.fail_after = len(fake_embedder.embedded) + 1
    with pytest.raises(RuntimeError, match="simulated"):
        fake_services.ingest.ingest([kb])
    assert fake_services.catalog.hashes() == before_catalog
    assert fake_services.vector_index.collections() == before_collections
    assert _search(fake_services, "车被水淹了")[0] == "t-1"


def test_bad_file_writes_nothing(fake_services: Services, kb: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "kind": "clause", "text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad\.jsonl: line 2: invalid JSON"):
        fake_services.ingest.ingest([kb, bad])
    assert not fake_services.index_exists()
    assert fake_services.vector_index.collections() == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"", "the file is empty"),
        ("blank.txt", b"   \n\n", "the file is empty"),
        ("table.xlsx", b"PK\x03\x04", "unsupported format .xlsx"),
        ("binary.txt", b"\xff\xfe\x00\x00\x81\x00", "cannot decode the text as UTF-8 or GBK"),
        ("broken.docx", b"not a zip", "not a readable DOCX"),
        ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
    ],
)
def test_bad_inputs_are_named(
    fake_services: Services, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        fake_services.ingest.ingest([path])
    assert name in str(info.value)
    assert not fake_services.index_exists()


def test_duplicate_id_across_files_names_both(fake_services: Services, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": "x", "kind": "faq", "text": "一"}\n', encoding="utf-8")
    b.write_text('{"id": "x", "kind": "faq", "text": "二"}\n', encoding="utf-8")
    with pytest.raises(
        IngestError, match=r"b\.jsonl: duplicate id x: already defined in .*a\.jsonl"
    ):
        fake_services.ingest.ingest([a, b])


def test_gbk_text_file(fake_services: Services, tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("第一条 车辆自燃造成的损失，保险人负责赔偿。\n".encode("gbk"))
    fake_services.ingest.ingest([path])
    assert _search(fake_services, "自燃")[0] == "gbk-1"


def test_docx_headings_and_articles(fake_services: Services, tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("充电桩条款", level=1)
    document.add_paragraph("第一条 自用充电桩因火灾造成的损失，保险人负责赔偿。")
    document.add_paragraph("第二条 充电桩自然磨损不负责赔偿。")
    path = tmp_path / "pile.docx"
    document.save(str(path))
    fake_services.ingest.ingest([path])
    passages = {p.id: p for p in fake_services.catalog.passages()}
    assert set(passages) == {"pile-1", "pile-2"}
    assert passages["pile-1"].citation == "充电桩条款第一条"


def test_long_passage_is_chunked_but_listed_once(fake_services: Services, tmp_path: Path) -> None:
    long_text = "".join(f"第{i}项：车辆涉水行驶造成发动机损坏的处理规则说明。" for i in range(60))
    path = tmp_path / "long.jsonl"
    path.write_text(
        json.dumps({"id": "long-1", "kind": "clause", "title": "长条款", "text": long_text})
        + "\n"
        + '{"id": "short-1", "kind": "clause", "title": "短条款", "text": "涉水"}\n',
        encoding="utf-8",
    )
    report = fake_services.ingest.ingest([path])
    assert report.chunks_embedded > 3
    ids = _search(fake_services, "涉水行驶发动机损坏")
    assert ids.count("long-1") == 1


def test_filters_by_kind_and_date(fake_services: Services, kb: Path) -> None:
    fake_services.ingest.ingest([kb])
    assert set(_search(fake_services, "网约车营运", kinds=[PassageKind.CASE])) <= {
        "case-1",
        "case-2",
    }
    assert _search(fake_services, "网约车营运", kinds=["case"])[0] == "case-2"
    before = _search(fake_services, "暴雨涉水", as_of="2019-01-01", kinds=["clause"])
    assert before == []  # the clauses take effect on 2020-09-19


def test_search_without_index_says_to_ingest(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    services = Services(Settings(data_dir=tmp_path / "new"), embedder=fake_embedder)
    with pytest.raises(IndexNotBuiltError, match=r"policydesk --data-dir .* ingest"):
        services.retriever()
    assert not (services.settings.data_dir / "policydesk.db").exists()


def test_new_embedder_rebuilds_everything(
    fake_services: Services, kb: Path, tmp_path: Path
) -> None:
    fake_services.ingest.ingest([kb])
    other = Services(fake_services.settings, embedder=FakeEmbedder(fingerprint="fake-v2"))
    (kb / "cases.jsonl").write_text(CASES.replace("获赔", "全额获赔"), encoding="utf-8")
    report = other.ingest.ingest([kb / "cases.jsonl"])
    assert report.chunks_embedded == 5  # the clauses from the other file are re-embedded too
    assert len(other.catalog.passages()) == 5


def test_langchain_retriever_returns_cited_documents(fake_services: Services, kb: Path) -> None:
    from retrieval.langchain_adapter import PolicyDeskRetriever

    fake_services.ingest.ingest([kb])
    retriever = PolicyDeskRetriever(search=fake_services.retriever().search, k=2)
    documents = retriever.invoke("车被水淹了")
    assert len(documents) == 2
    assert documents[0].metadata["id"] == "t-1"
    assert documents[0].metadata["citation"] == "测试条款第一条"
    assert "涉水" in documents[0].page_content
