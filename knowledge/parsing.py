"""Split documents into citable passages: articles (第X条), numbered FAQ/sections, paragraphs.

Pure functions over text; file access lives in ``readers`` and ``loader``.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ValidationError

from core.errors import IngestError
from core.files import loads_json
from core.models import Passage, PassageKind
from core.numerals import chinese_to_int, int_to_chinese

_NUMERAL = "零〇一二三四五六七八九十百千两"
ARTICLE_RE = re.compile(rf"^(?:#{{1,6}}\s*)?第([{_NUMERAL}\d]+)条(?![款项])\s*(.*)$")
NUMBERED_RE = re.compile(r"^(?:#{1,6}\s*)?(\d{1,4})\s*[.、．]\s*(\S.*)$")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
BRACKET_TITLE_RE = re.compile(r"^【([^】]{1,40})】\s*")


class DocumentMeta(BaseModel):
    """Front-matter metadata of a source document."""

    doc_id: str
    document: str
    version: str = ""
    effective_date: date | None = None
    expiry_date: date | None = None
    product: str = ""
    kind: PassageKind = PassageKind.CLAUSE


def parse_front_matter(text: str, path: Path | str) -> tuple[dict[str, str], str]:
    """Split a leading ``---`` block of ``key: value`` lines from the body.

    Raises:
        IngestError: an unterminated block or a line that is not ``key: value``.
    """
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    fields: dict[str, str] = {}
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return fields, "\n".join(lines[index + 1 :])
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise IngestError(path, f"front matter line {index + 1} is not 'key: value': {line!r}")
        fields[key.strip()] = value.split(" #", 1)[0].strip()
    raise IngestError(path, "front matter starts with '---' but never ends")


def document_meta(fields: dict[str, str], body: str, path: Path) -> DocumentMeta:
    """Metadata from front matter, defaulting to the first heading and the file name."""
    first_heading = next(
        (m.group(2) for line in body.split("\n") if (m := HEADING_RE.match(line.strip()))), None
    )
    data: dict[str, object] = {
        "doc_id": fields.get("doc_id") or re.sub(r"\s+", "-", path.stem),
        "document": fields.get("document") or first_heading or path.stem,
    }
    for key in ("version", "effective_date", "expiry_date", "product", "kind"):
        if fields.get(key):
            data[key] = fields[key]
    try:
        return DocumentMeta.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise IngestError(path, f"bad front matter ({problems})") from exc


def split_document(text: str, path: Path, default_kind: PassageKind | None = None) -> list[Passage]:
    """Split one document's text into passages.

    Articles (``第X条``) win; otherwise numbered sections (``1.`` / ``## 1、``); otherwise
    paragraphs grouped under their headings. Headings above an article become its title context.

    Args:
        text: the whole document, optionally with front matter.
        path: the source, for ids, defaults and error messages.
        default_kind: the kind when the front matter does not say.

    Returns:
        Passages in document order.

    Raises:
        IngestError: bad front matter, no text, or two passages with the same number.
    """
    fields, body = parse_front_matter(text, path)
    if default_kind is not None and "kind" not in fields:
        fields["kind"] = default_kind.value
    meta = document_meta(fields, body, path)
    lines = [line.rstrip() for line in body.split("\n")]
    if any(ARTICLE_RE.match(line.strip()) for line in lines):
        sections = _split_by(lines, ARTICLE_RE)
        label = "article"
    elif any(NUMBERED_RE.match(line.strip()) for line in lines):
        sections = _split_by(lines, NUMBERED_RE)
        label = "numbered"
    else:
        sections = _split_paragraphs(lines)
        label = "paragraph"
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for section in sections:
        number, heading_title, context, body_lines = section
        body_text = "\n".join(body_lines).strip()
        if not body_text and not heading_title:
            continue
        if label == "article":
            n = chinese_to_int(number)
            article = f"第{int_to_chinese(n)}条"
            citation = f"{meta.document}{article}"
            title_core = article + (f"【{heading_title}】" if heading_title else "")
            pid = f"{meta.doc_id}-{n}"
        elif label == "numbered":
            n = int(number)
            article = f"第{n}问" if meta.kind is PassageKind.FAQ else f"第{n}节"
            citation = f"{meta.document} {article}"
            title_core = heading_title
            pid = f"{meta.doc_id}-{n}"
        else:
            n = int(number)
            article = f"第{n}段"
            citation = f"{meta.document} {article}"
            title_core = heading_title or meta.document
            pid = f"{meta.doc_id}-p{n}"
        if pid in seen:
            raise IngestError(path, f"duplicate passage id {pid} ({article} appears twice)")
        seen[pid] = n
        if label != "numbered" and not body_text:
            body_text = heading_title
        context = [c for c in context if c != meta.document]  # the title names it already
        title = " · ".join([*context, title_core]) if context else title_core
        passages.append(
            Passage(
                id=pid,
                kind=meta.kind,
                title=title,
                text=body_text or heading_title,
                citation=citation,
                document=meta.document,
                doc_id=meta.doc_id,
                version=meta.version,
                article=article,
                product=meta.product,
                effective_date=meta.effective_date,
                expiry_date=meta.expiry_date,
                source=str(path),
            )
        )
    if not passages:
        raise IngestError(path, "no passages found (the document has no text body)")
    return passages


Section = tuple[str, str, list[str], list[str]]


def _split_by(lines: list[str], marker: re.Pattern[str]) -> list[Section]:
    """Sections start at marker lines; Markdown headings in between set the title context."""
    sections: list[Section] = []
    headings: dict[int, str] = {}
    current: Section | None = None
    for raw in lines:
        line = raw.strip()
        match = marker.match(line)
        heading = HEADING_RE.match(line)
        if match:
            rest = match.group(2).strip()
            title, inline = _title_and_inline(rest, heading_line=line.startswith("#"))
            context = [headings[level] for level in sorted(headings)]
            current = (match.group(1), title, context, [inline] if inline else [])
            sections.append(current)
        elif heading:
            level = len(heading.group(1))
            headings = {lv: t for lv, t in headings.items() if lv < level}
            headings[level] = heading.group(2)
            current = None
        elif current is not None and line:
            current[3].append(line)
    return sections


def _title_and_inline(rest: str, heading_line: bool) -> tuple[str, str]:
    """Separate a short heading title (``【保险责任】`` or a heading's text) from the body."""
    bracket = BRACKET_TITLE_RE.match(rest)
    if bracket:
        return bracket.group(1), rest[bracket.end() :].strip()
    if heading_line:
        return rest, ""
    return "", rest


def _split_paragraphs(lines: list[str]) -> list[Section]:
    sections: list[Section] = []
    heading = ""
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            sections.append((str(len(sections) + 1), heading, [], list(buffer)))
            buffer.clear()

    for raw in lines:
        line = raw.strip()
        match = HEADING_RE.match(line)
        if match:
            flush()
            heading = match.group(2)
        elif not line:
            flush()
        else:
            buffer.append(line)
    flush()
    return sections


def parse_jsonl(text: str, path: Path) -> list[Passage]:
    """Parse JSON Lines of passages: ``{"id", "kind", "title", "text", ...}`` per line.

    Raises:
        IngestError: naming the line of bad JSON, a missing field or a duplicate id.
    """
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = loads_json(line)
        except json.JSONDecodeError as exc:
            raise IngestError(path, f"line {number}: invalid JSON ({exc.msg})") from exc
        except ValueError as exc:  # nested too deeply
            raise IngestError(path, f"line {number}: {exc}") from exc
        if not isinstance(record, dict):
            raise IngestError(path, f"line {number}: expected a JSON object")
        missing = [key for key in ("id", "kind", "text") if not record.get(key)]
        if missing:
            raise IngestError(path, f"line {number}: missing {', '.join(missing)}")
        record.setdefault("title", "")
        if not record.get("citation"):
            record["citation"] = _default_citation(record)
        record["source"] = str(path)
        try:
            passage = Passage.model_validate(record)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise IngestError(path, f"line {number}: {problems}") from exc
        if passage.id in seen:
            raise IngestError(
                path, f"line {number}: duplicate id {passage.id} (first on line {seen[passage.id]})"
            )
        seen[passage.id] = number
        passages.append(passage)
    if not passages:
        raise IngestError(path, "the file has no passages")
    return passages


def _default_citation(record: dict[str, object]) -> str:
    title = str(record.get("title") or "")
    if record.get("kind") == PassageKind.CASE.value:
        return f"示例案例〔{record['id']}〕{title}"
    return title or str(record["id"])
