"""Read source files into text. Every failure names the file and the reason."""

from __future__ import annotations

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
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES - {".jsonl"}:
        raise IngestError(
            path,
            f"unsupported format {suffix or '(no extension)'}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror})") from exc
    if not raw.strip():
        raise IngestError(path, "the file is empty")
    if suffix in TEXT_SUFFIXES:
        text = decode_text(raw, path)
    elif suffix == ".docx":
        text = _read_docx(path)
    else:
        text = _read_pdf(path)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ")
    if not text.strip():
        raise IngestError(path, "no text found in the file (a scanned PDF needs OCR first)")
    return text


def _read_docx(path: Path) -> str:
    import docx  # python-docx; imported here so other formats do not pay for it

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise IngestError(path, f"not a readable DOCX file ({type(exc).__name__})") from exc
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


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise IngestError(path, f"not a readable PDF file ({exc})") from exc
    return "\n".join(pages)
