"""Read source files into text. Every failure names the file and the reason."""

from __future__ import annotations

import io
from pathlib import Path

from core.errors import IngestError

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf", ".jsonl"}


def decode_text(raw: bytes, path: Path | str) -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to GBK (GB18030).

    Raises:
        IngestError: when the bytes are neither.
    """
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise IngestError(path, "cannot decode the text as UTF-8 or GBK")


def read_document(path: Path) -> str:
    """Return the text of a Markdown, plain-text, DOCX or PDF file.

    DOCX headings become Markdown headings so the article splitter sees the structure.

    Raises:
        IngestError: unsupported format, empty file, unreadable or text-less file.
    """
    _check_suffix(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror})") from exc
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    text = extract_text(raw, path)
    if not text.strip():
        raise IngestError(path, "no text found in the file (a scanned PDF needs OCR first)")
    return text


def extract_text(raw: bytes, name: Path | str) -> str:
    """Return the text of a document held in memory (an upload); the name's suffix gives the format.

    Line endings are normalised and ideographic spaces become plain spaces; DOCX headings become
    Markdown headings. The text may be blank: the caller decides whether that is an error.

    Args:
        raw: the file's bytes.
        name: the file name (or path), for the format and for error messages.

    Returns:
        The document's text.

    Raises:
        IngestError: unsupported format, text that is neither UTF-8 nor GBK, or an unreadable
            DOCX or PDF file.
    """
    suffix = _check_suffix(name)
    if suffix in TEXT_SUFFIXES:
        text = decode_text(raw, name)
    elif suffix == ".docx":
        text = _read_docx(raw, name)
    else:
        text = _read_pdf(raw, name)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")


def _check_suffix(name: Path | str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES - {".jsonl"}:
        raise IngestError(
            name,
            f"unsupported format {suffix or '(no extension)'}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    return suffix


def _read_docx(raw: bytes, name: Path | str) -> str:
    import docx  # python-docx; imported here so other formats do not pay for it

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise IngestError(name, f"not a readable DOCX file ({type(exc).__name__})") from exc
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith("heading"):
            level = "".join(ch for ch in style if ch.isdigit()) or "1"
            lines.append("#" * min(int(level), 6) + " " + text)
        elif style.lower() == "title":
            lines.append("# " + text)
        else:
            lines.append(text)
    return "\n".join(lines)


def _read_pdf(raw: bytes, name: Path | str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise IngestError(name, f"not a readable PDF file ({exc})") from exc
    return "\n".join(pages)
