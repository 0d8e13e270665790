"""Read source files into text. Every failure names the file and the reason.

Files come from trainers and from imports, so they are treated as hostile: a symbolic link is
refused (a link to /etc/passwd must not become searchable), and every format has caps that stop a
small file from expanding into a huge one (a zip bomb DOCX, a PDF with thousands of pages or
deeply nested objects) before the text is built.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from core.errors import IngestError

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf", ".jsonl"}

MAX_FILE_BYTES = 20 * 1024 * 1024
"""A source file larger than this is refused before it is read."""
MAX_TEXT_CHARS = 2_000_000
"""Text extracted from one document; a clause book is a few hundred thousand characters."""
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
"""The uncompressed size of all parts of a DOCX file."""
MAX_COMPRESSION_RATIO = 200
"""A DOCX part that expands more than this is a zip bomb, not a document."""
MAX_PDF_PAGES = 2000


def check_not_link(path: Path) -> None:
    """Refuse a symbolic link: only real files are read.

    Raises:
        IngestError: the path is a symbolic link.
    """
    if path.is_symlink():
        raise IngestError(path, "symbolic links are refused: give the file itself")


def read_capped(path: Path) -> bytes:
    """A file's bytes, refusing links and files over ``MAX_FILE_BYTES``.

    Raises:
        IngestError: a link, a file too large, or one that cannot be read.
    """
    check_not_link(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IngestError(
                path, f"the file is {size // (1024 * 1024)} MB; the limit is {_mb(MAX_FILE_BYTES)}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror})") from exc


def _mb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB"


def _too_long(name: Path | str) -> IngestError:
    return IngestError(
        name,
        f"the document holds more than {MAX_TEXT_CHARS:,} characters of text; split it into "
        "smaller documents",
    )


def _check_chars(text: str, name: Path | str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise _too_long(name)
    return text


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
    raw = read_capped(path)
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
        IngestError: unsupported format, text that is neither UTF-8 nor GBK, an unreadable
            DOCX or PDF file, or one over a cap (size, expansion, pages, characters).
    """
    suffix = _check_suffix(name)
    if len(raw) > MAX_FILE_BYTES:
        raise IngestError(name, f"the file is larger than {_mb(MAX_FILE_BYTES)}")
    if suffix in TEXT_SUFFIXES:
        text = _check_chars(decode_text(raw, name), name)
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


def _check_zip(raw: bytes, name: Path | str) -> None:
    """Refuse a DOCX whose parts would expand too far, before anything is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(name, f"not a readable DOCX file ({type(exc).__name__})") from exc
    total = sum(part.file_size for part in parts)
    if total > MAX_UNZIPPED_BYTES:
        raise IngestError(
            name, f"the DOCX file expands to more than {_mb(MAX_UNZIPPED_BYTES)}; refused"
        )
    for part in parts:
        if part.file_size > MAX_COMPRESSION_RATIO * max(part.compress_size, 1) and (
            part.file_size > 1024 * 1024
        ):
            raise IngestError(
                name, f"part {part.filename} of the DOCX file is compressed suspiciously; refused"
            )


def _read_docx(raw: bytes, name: Path | str) -> str:
    import docx  # python-docx; imported here so other formats do not pay for it

    _check_zip(raw, name)
    try:
        document = docx.Document(io.BytesIO(raw))
    except RecursionError:
        raise IngestError(name, "the DOCX file is nested too deeply; refused") from None
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise IngestError(name, f"not a readable DOCX file ({type(exc).__name__})") from exc
    lines: list[str] = []
    size = 0
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
        size += len(text) + 1
        if size > MAX_TEXT_CHARS:  # stop as soon as the cap is passed
            raise _too_long(name)
    return "\n".join(lines)


def _read_pdf(raw: bytes, name: Path | str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise IngestError(
                name, f"the PDF has {len(reader.pages)} pages; the limit is {MAX_PDF_PAGES}"
            )
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            size += len(text) + 1
            if size > MAX_TEXT_CHARS:
                raise _too_long(name)
            pages.append(text)
    except RecursionError:
        raise IngestError(name, "the PDF is nested too deeply; refused") from None
    except (PdfReadError, ValueError, KeyError, OSError, TypeError, AttributeError) as exc:
        raise IngestError(name, f"not a readable PDF file ({type(exc).__name__})") from exc
    return "\n".join(pages)
