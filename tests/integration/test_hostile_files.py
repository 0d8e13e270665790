"""Hostile files into ``ingest`` and ``kb import``: each is refused with a clear error naming the
file, and nothing is written (the live index and the studio stay as they were)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from cli.main import main
from core.errors import IngestError
from core.models import SearchRequest
from knowledge.readers import MAX_TEXT_CHARS
from services.root import Services

pytestmark = pytest.mark.integration

CLAUSES = """---
doc_id: t
document: 测试条款
---
### 第一条
因暴雨、洪水导致被保险机动车涉水或被水淹造成的损失，保险人负责赔偿。
"""


def _docx_bomb() -> bytes:
    """A valid-looking DOCX whose document part expands from kilobytes to 20 million characters
    (the finding: a 109 KB DOCX became 20 million characters of text)."""
    body = "<w:p><w:r><w:t>" + "赔" * 20_000_000 + "</w:t></w:r></w:p>"
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats'
        f'.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


@pytest.fixture
def live(fake_services: Services, tmp_path: Path) -> Services:
    """A data dir with one clause file ingested: what must survive every refused file."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "clauses.md").write_text(CLAUSES, encoding="utf-8")
    fake_services.ingest.ingest([good])
    return fake_services


def _unchanged(services: Services) -> None:
    assert [p.id for p in services.catalog.passages()] == ["t-1"]


def test_a_docx_bomb_is_refused_before_it_expands(live: Services, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(_docx_bomb())
    assert bomb.stat().st_size < 200_000
    with pytest.raises(IngestError, match=r"bomb\.docx: .*(expands|compressed suspiciously)"):
        live.ingest.ingest([bomb])
    _unchanged(live)


def test_a_text_file_with_too_many_characters_is_refused(live: Services, tmp_path: Path) -> None:
    huge = tmp_path / "huge.md"
    huge.write_text("### 第一条\n" + "赔" * (MAX_TEXT_CHARS + 1), encoding="utf-8")
    with pytest.raises(IngestError, match=r"huge\.md: the document holds more than"):
        live.ingest.ingest([huge])
    _unchanged(live)


def test_a_deeply_nested_json_line_is_a_clean_error_naming_the_line(
    live: Services, tmp_path: Path
) -> None:
    deep = tmp_path / "deep.jsonl"
    nested = "[" * 100_000 + "]" * 100_000
    deep.write_text(
        '{"id": "ok", "kind": "faq", "text": "可以"}\n'
        f'{{"id": "x", "kind": "faq", "text": "x", "extra": {nested}}}\n',
        encoding="utf-8",
    )
    with pytest.raises(IngestError, match=r"deep\.jsonl: line 2: JSON nested deeper than"):
        live.ingest.ingest([deep])
    _unchanged(live)


def test_a_deeply_nested_pdf_is_a_clean_error(live: Services, tmp_path: Path) -> None:
    depth = 50_000
    pdf = tmp_path / "nested.pdf"
    pdf.write_bytes(
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Nest "
        + b"[" * depth
        + b"]" * depth
        + b" >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    with pytest.raises(IngestError, match=r"nested\.pdf: "):
        live.ingest.ingest([pdf])
    _unchanged(live)


def test_a_symlink_is_refused_whether_named_or_inside_a_folder(
    live: Services, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "more.md").write_text(CLAUSES.replace("t\n", "u\n", 1), encoding="utf-8")
    os.symlink("/etc/passwd", folder / "passwd.md")
    with pytest.raises(IngestError, match=r"passwd\.md: symbolic links are refused"):
        live.ingest.ingest([folder])
    with pytest.raises(IngestError, match=r"passwd\.md: symbolic links are refused"):
        live.ingest.ingest([folder / "passwd.md"])
    _unchanged(live)
    hits = live.retriever().search(SearchRequest(query="root bin bash", k=5)).hits
    assert not any("root:" in h.text for h in hits)


def test_kb_import_refuses_the_same_files_and_saves_nothing(
    live: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live.accounts.add("tina", "Trainer-Pass-26", ["trainer"])
    monkeypatch.setenv("POLICYDESK_PASSWORD", "Trainer-Pass-26")
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(_docx_bomb())
    link = tmp_path / "passwd.md"
    os.symlink("/etc/passwd", link)
    data_dir = str(live.settings.data_dir)
    for path in (bomb, link):
        out = io.StringIO()
        status = main(
            ["--data-dir", data_dir, "kb", "--user", "tina", "import", str(path)], out=out
        )
        printed = out.getvalue() + capsys.readouterr().err
        assert status == 1, printed
        assert path.name in printed
        assert "Traceback" not in printed
    tina = live.accounts.get("tina")
    assert {s.item.id for s in live.studio.search(tina)} <= {"t-1"}
    _unchanged(live)
