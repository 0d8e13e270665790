"""Document import for trainers: preview how an upload splits into articles, fix it, batch-import.

Nothing here saves anything. ``preview_document`` reads an upload (DOCX, PDF, Markdown, TXT in
UTF-8 or GBK) and splits it with ``knowledge.parsing`` into proposed articles plus warnings;
``merge_articles`` / ``split_article`` / ``rename_article`` return corrected copies; and
``import_batch`` previews many files, reporting each failure with its reason. The caller stores
the good previews (``ImportPreview.passages()``) through the item store.

Ids follow ``split_document``: ``{doc_id}-{n}`` for article (第X条) and numbered sections,
``{doc_id}-p{n}`` for paragraphs. Article numbers come from the document and are never
renumbered (citations name them); paragraphs are renumbered by position after every fix. When two
articles share a number (a duplicate heading in the document, or an article split in two), the
later ones get ``-2``, ``-3``… suffixes and a warning, so a trainer can see and fix them instead
of the whole document being refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field

from core.errors import IngestError, PolicyDeskError
from core.models import Passage, PassageKind
from core.numerals import chinese_to_int, int_to_chinese
from knowledge.parsing import (
    ARTICLE_RE,
    BRACKET_TITLE_RE,
    NUMBERED_RE,
    DocumentMeta,
    parse_front_matter,
    split_document,
)
from knowledge.readers import TEXT_SUFFIXES, extract_text

MAX_IMPORT_BYTES = 10 * 1024 * 1024
IMPORT_SUFFIXES = frozenset(TEXT_SUFFIXES | {".docx", ".pdf"})
LONG_ARTICLE_CHARS = 1200  # the demo clauses' longest article has about 400 characters
SHORT_ARTICLE_CHARS = 10
MAX_TITLE_CHARS = 200
CONTINUED = "（续）"  # marks the second half of an article split without a heading of its own

_TITLE_SEP = " · "  # split_document joins heading context and the article's own title with this
_MAX_SECTION_NUMBER = 9999  # NUMBERED_RE accepts at most four digits


class SplitScheme(StrEnum):
    """How a document was cut: at 第X条 headings, at numbered sections, or into paragraphs."""

    ARTICLE = "article"
    NUMBERED = "numbered"
    PARAGRAPH = "paragraph"


class ImportProblem(StrEnum):
    """Why a file cannot be imported."""

    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    EMPTY = "empty"
    UNDECODABLE = "undecodable"
    UNREADABLE = "unreadable"
    PARSE_ERROR = "parse_error"
    DUPLICATE_ID = "duplicate_id"


class ImportRejectedError(IngestError):
    """A file that cannot be previewed; ``problem`` says which kind of failure it is."""

    def __init__(self, filename: str, problem: ImportProblem, reason: str) -> None:
        super().__init__(filename, reason)
        self.problem = problem


class PreviewEditError(PolicyDeskError):
    """A fix that does not apply to the preview (bad article index, split point or title)."""


class WarningCode(StrEnum):
    """What a preview warning is about (the UI can translate by code)."""

    MISSING_FIELD = "missing_field"
    NO_ARTICLE_HEADINGS = "no_article_headings"
    DUPLICATE_NUMBER = "duplicate_number"
    NUMBER_GAP = "number_gap"
    LONG_ARTICLE = "long_article"
    SHORT_ARTICLE = "short_article"


class ImportWarning(BaseModel):
    """Something a trainer should check before saving; ``articles`` are indices into the preview."""

    model_config = ConfigDict(frozen=True)

    code: WarningCode
    message: str
    articles: list[int] = Field(default_factory=list)
    field: str = ""


class ProposedArticle(BaseModel):
    """One passage the document would become."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: PassageKind
    number: int = Field(ge=0, description="the article or section number; position for paragraphs")
    article: str = Field(description="第三条, 第2问, 第2节 or 第4段")
    title: str
    citation: str
    text: str = Field(min_length=1)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def chars(self) -> int:
        """Length of the text in characters."""
        return len(self.text)


class ImportPreview(BaseModel):
    """How one document would be imported: its metadata, proposed articles and warnings."""

    model_config = ConfigDict(frozen=True)

    filename: str
    meta: DocumentMeta
    front_matter: dict[str, str] = Field(description="the fields the document's front matter set")
    default_kind: PassageKind | None = None
    scheme: SplitScheme
    articles: list[ProposedArticle]
    warnings: list[ImportWarning]

    def passages(self) -> list[Passage]:
        """The proposed articles as passages, ready for the item store."""
        meta = self.meta
        return [
            Passage(
                id=a.id,
                kind=a.kind,
                title=a.title,
                text=a.text,
                citation=a.citation,
                document=meta.document,
                doc_id=meta.doc_id,
                version=meta.version,
                article=a.article,
                product=meta.product,
                effective_date=meta.effective_date,
                expiry_date=meta.expiry_date,
                source=self.filename,
            )
            for a in self.articles
        ]


class FileImportResult(BaseModel):
    """What happened to one file of a batch."""

    filename: str
    ok: bool
    articles: int = 0
    warnings: int = 0
    problem: ImportProblem | None = None
    reason: str = ""


class BatchImportReport(BaseModel):
    """Per-file results in upload order, and the previews of the files that worked."""

    results: list[FileImportResult]
    previews: list[ImportPreview]

    @property
    def succeeded(self) -> list[FileImportResult]:
        """The files that can be saved."""
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[FileImportResult]:
        """The files that cannot, each with its reason."""
        return [r for r in self.results if not r.ok]


class _Draft(NamedTuple):
    """An article before ids, labels and citations are assigned."""

    number: int
    title: str
    text: str


def preview_document(
    filename: str, raw: bytes, default_kind: PassageKind | None = None
) -> ImportPreview:
    """Read an uploaded document and propose how it splits into articles; nothing is saved.

    Args:
        filename: the upload's name; its extension gives the format, its stem the default doc_id.
        raw: the file's bytes.
        default_kind: the passage kind when the front matter does not set one (clause otherwise).

    Returns:
        The document's metadata, proposed articles and warnings.

    Raises:
        ImportRejectedError: too large, unsupported type, empty, undecodable or unreadable, or
            unparseable (bad front matter, no body, an invalid id); ``problem`` says which.
    """
    name = _base_name(filename)
    text = _read(name, raw)
    try:
        return _propose(text, name, default_kind)
    except ImportRejectedError:
        raise
    except IngestError as exc:
        raise ImportRejectedError(name, ImportProblem.PARSE_ERROR, exc.reason) from exc
    except ValueError as exc:  # an id the file name makes invalid, a malformed numeral
        raise ImportRejectedError(name, ImportProblem.PARSE_ERROR, _first_problem(exc)) from exc


def import_batch(
    files: Sequence[tuple[str, bytes]], default_kind: PassageKind | None = None
) -> BatchImportReport:
    """Preview many uploads; a bad file is reported and never stops the others.

    Args:
        files: (file name, bytes) pairs in upload order.
        default_kind: the passage kind for documents whose front matter does not set one.

    Returns:
        One result per file (article count, or the problem and reason) and the good previews.
        A file whose passage ids repeat ones from an earlier file of the batch is refused.
    """
    results: list[FileImportResult] = []
    previews: list[ImportPreview] = []
    owner: dict[str, str] = {}
    for filename, raw in files:
        try:
            preview = preview_document(filename, raw, default_kind)
        except ImportRejectedError as exc:
            results.append(
                FileImportResult(
                    filename=filename, ok=False, problem=exc.problem, reason=exc.reason
                )
            )
            continue
        clash = next((a.id for a in preview.articles if a.id in owner), None)
        if clash is not None:
            results.append(
                FileImportResult(
                    filename=filename,
                    ok=False,
                    problem=ImportProblem.DUPLICATE_ID,
                    reason=f"passage id {clash} is also in {owner[clash]}; set a distinct doc_id",
                )
            )
            continue
        owner.update((a.id, preview.filename) for a in preview.articles)
        previews.append(preview)
        results.append(
            FileImportResult(
                filename=filename,
                ok=True,
                articles=len(preview.articles),
                warnings=len(preview.warnings),
            )
        )
    return BatchImportReport(results=results, previews=previews)


def merge_articles(preview: ImportPreview, i: int, j: int) -> ImportPreview:
    """Merge articles ``i`` to ``j`` (inclusive) into one, keeping the first's number and title.

    The merged-in articles keep their headings in the text (``第三条……``), so a 第X条 the
    splitter mistook for a heading reads as it did in the document.

    Raises:
        PreviewEditError: ``i`` and ``j`` are not two article indices with ``i < j``.
    """
    count = len(preview.articles)
    if not 0 <= i < j < count:
        raise PreviewEditError(
            f"cannot merge articles {i} to {j}: need 0 <= first < last < {count}"
        )
    group = preview.articles[i : j + 1]
    parts = [group[0].text]
    for before, article in pairwise(group):
        parts.append(_text_with_heading(article, before, preview.scheme))
    first = group[0]
    merged = _Draft(first.number, first.title, "\n".join(parts))
    drafts = _drafts(preview.articles)
    return _rebuild(preview, [*drafts[:i], merged, *drafts[j + 1 :]])


def split_article(preview: ImportPreview, i: int, at_char: int) -> ImportPreview:
    """Split article ``i`` in two at a character offset of its text.

    When the second half starts with a heading of the document's scheme (第X条, or ``3.`` in a
    numbered document), it becomes that article, with that number and title; otherwise it
    continues the first (same number, title marked 续).

    Raises:
        PreviewEditError: a bad index, or an offset that leaves either half without text.
    """
    article = _article_at(preview, i)
    head = article.text[:at_char].rstrip() if 0 < at_char < article.chars else ""
    tail = article.text[at_char:].strip() if head.strip() else ""
    if not tail:
        raise PreviewEditError(
            f"cannot split article {i} ({article.id}) at character {at_char}: "
            f"both halves need text (the article has {article.chars} characters)"
        )
    second = _draft_from_tail(tail, article, preview.scheme)
    drafts = _drafts(preview.articles)
    first = _Draft(article.number, article.title, head)
    return _rebuild(preview, [*drafts[:i], first, second, *drafts[i + 1 :]])


def rename_article(preview: ImportPreview, i: int, title: str) -> ImportPreview:
    """Give article ``i`` a new title.

    Raises:
        PreviewEditError: a bad index, or a blank, multi-line or over-long title.
    """
    _article_at(preview, i)
    clean = title.strip()
    if not clean or "\n" in clean or len(clean) > MAX_TITLE_CHARS:
        raise PreviewEditError(
            f"title {title!r} must be one non-blank line of at most {MAX_TITLE_CHARS} characters"
        )
    drafts = _drafts(preview.articles)
    drafts[i] = drafts[i]._replace(title=clean)
    return _rebuild(preview, drafts)


# --- reading ------------------------------------------------------------------------------


def _base_name(filename: str) -> str:
    # browsers may send a client-side path; only the last component names the document
    return re.split(r"[\\/]", filename.strip())[-1]


def _read(name: str, raw: bytes) -> str:
    suffix = Path(name).suffix.lower()
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportRejectedError(
            name,
            ImportProblem.TOO_LARGE,
            f"the file has {len(raw):,} bytes; the limit is {MAX_IMPORT_BYTES:,} (10 MB)",
        )
    if suffix not in IMPORT_SUFFIXES:
        raise ImportRejectedError(
            name,
            ImportProblem.UNSUPPORTED_TYPE,
            f"unsupported file type {suffix or '(no extension)'}; supported: "
            + ", ".join(sorted(IMPORT_SUFFIXES)),
        )
    if not raw.strip():
        raise ImportRejectedError(name, ImportProblem.EMPTY, "the file is empty")
    problem = ImportProblem.UNDECODABLE if suffix in TEXT_SUFFIXES else ImportProblem.UNREADABLE
    try:
        text = extract_text(raw, name)
    except IngestError as exc:
        raise ImportRejectedError(name, problem, exc.reason) from exc
    except Exception as exc:  # untrusted bytes make pypdf / python-docx raise assorted types
        raise ImportRejectedError(
            name, problem, f"not a readable {suffix[1:].upper()} file ({type(exc).__name__})"
        ) from exc
    if not text.strip():
        raise ImportRejectedError(
            name, ImportProblem.EMPTY, "no text found in the file (a scanned PDF needs OCR first)"
        )
    return text


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return str(error["msg"]).removeprefix("Value error, ")
    return str(exc)


# --- splitting ----------------------------------------------------------------------------


_MARKERS = {SplitScheme.ARTICLE: ARTICLE_RE, SplitScheme.NUMBERED: NUMBERED_RE}


def _propose(text: str, name: str, default_kind: PassageKind | None) -> ImportPreview:
    path = Path(name)
    fields, body = parse_front_matter(text, path)
    if not body.strip():
        raise ImportRejectedError(name, ImportProblem.EMPTY, "the document has no text body")
    lines = body.split("\n")
    scheme = _scheme_of(lines)
    stand_ins: dict[int, int] = {}
    marker = _MARKERS.get(scheme)
    if marker is not None:
        stand_ins = _number_duplicates_apart(lines, marker, scheme)
    front = text[: len(text) - len(body)]
    passages = split_document(front + "\n".join(lines), path, default_kind)
    first = passages[0]
    meta = DocumentMeta(
        doc_id=first.doc_id,
        document=first.document,
        version=first.version,
        effective_date=first.effective_date,
        expiry_date=first.expiry_date,
        product=first.product,
        kind=first.kind,
    )
    drafts: list[_Draft] = []
    for position, passage in enumerate(passages, start=1):
        if scheme is SplitScheme.PARAGRAPH:
            drafts.append(_Draft(position, passage.title, passage.text))
            continue
        parsed = int(passage.id[len(passage.doc_id) + 1 :])
        number = stand_ins.get(parsed, parsed)
        title = passage.title
        if number != parsed:
            title = _relabel(title, passage.article, _label(scheme, meta.kind, number))
        drafts.append(_Draft(number, title, passage.text))
    return _assemble(name, meta, fields, default_kind, scheme, drafts)


def _scheme_of(lines: list[str]) -> SplitScheme:
    # the same precedence split_document applies
    if any(ARTICLE_RE.match(line.strip()) for line in lines):
        return SplitScheme.ARTICLE
    if any(NUMBERED_RE.match(line.strip()) for line in lines):
        return SplitScheme.NUMBERED
    return SplitScheme.PARAGRAPH


def _heading_number(match: re.Match[str], scheme: SplitScheme) -> int:
    return chinese_to_int(match.group(1)) if scheme is SplitScheme.ARTICLE else int(match.group(1))


def _number_duplicates_apart(
    lines: list[str], marker: re.Pattern[str], scheme: SplitScheme
) -> dict[int, int]:
    """Give repeated heading numbers unused stand-ins, in place; returns stand-in → real number.

    split_document refuses a document with a repeated number (right for ingest); a preview shows
    both articles instead, so the trainer can merge or fix them.
    """
    found = [(i, m) for i, line in enumerate(lines) if (m := marker.match(line.strip()))]
    numbers = [_heading_number(m, scheme) for _, m in found]
    free = max(numbers, default=0) + 1
    seen: set[int] = set()
    stand_ins: dict[int, int] = {}
    for (i, match), number in zip(found, numbers, strict=True):
        if number in seen and free <= _MAX_SECTION_NUMBER:
            line = lines[i].strip()
            lines[i] = line[: match.start(1)] + str(free) + line[match.end(1) :]
            stand_ins[free] = number
            free += 1
        seen.add(number)
    return stand_ins


def _label(scheme: SplitScheme, kind: PassageKind, number: int) -> str:
    # mirrors split_document's labels (a test checks they agree)
    if scheme is SplitScheme.ARTICLE:
        return f"第{int_to_chinese(number)}条"
    if scheme is SplitScheme.NUMBERED:
        return f"第{number}问" if kind is PassageKind.FAQ else f"第{number}节"
    return f"第{number}段"


def _citation(document: str, scheme: SplitScheme, label: str) -> str:
    return f"{document}{label}" if scheme is SplitScheme.ARTICLE else f"{document} {label}"


def _relabel(title: str, old: str, new: str) -> str:
    context, sep, own = title.rpartition(_TITLE_SEP)
    if own.startswith(old):
        own = new + own[len(old) :]
    return f"{context}{sep}{own}"


def _assemble(
    filename: str,
    meta: DocumentMeta,
    front_matter: dict[str, str],
    default_kind: PassageKind | None,
    scheme: SplitScheme,
    drafts: Sequence[_Draft],
) -> ImportPreview:
    """Ids, labels, citations and warnings for drafts in document order."""
    articles: list[ProposedArticle] = []
    occurrences: dict[int, int] = {}
    for position, draft in enumerate(drafts, start=1):
        if scheme is SplitScheme.PARAGRAPH:
            number = position
            pid = f"{meta.doc_id}-p{number}"
        else:
            number = draft.number
            occurrences[number] = occurrences.get(number, 0) + 1
            nth = occurrences[number]
            pid = f"{meta.doc_id}-{number}" + (f"-{nth}" if nth > 1 else "")
        label = _label(scheme, meta.kind, number)
        articles.append(
            ProposedArticle(
                id=pid,
                kind=meta.kind,
                number=number,
                article=label,
                title=draft.title,
                citation=_citation(meta.document, scheme, label),
                text=draft.text,
            )
        )
    return ImportPreview(
        filename=filename,
        meta=meta,
        front_matter=front_matter,
        default_kind=default_kind,
        scheme=scheme,
        articles=articles,
        warnings=_warnings(meta, front_matter, default_kind, scheme, articles),
    )


def _rebuild(preview: ImportPreview, drafts: Sequence[_Draft]) -> ImportPreview:
    return _assemble(
        preview.filename,
        preview.meta,
        preview.front_matter,
        preview.default_kind,
        preview.scheme,
        drafts,
    )


def _drafts(articles: Sequence[ProposedArticle]) -> list[_Draft]:
    return [_Draft(a.number, a.title, a.text) for a in articles]


def _article_at(preview: ImportPreview, i: int) -> ProposedArticle:
    if not 0 <= i < len(preview.articles):
        raise PreviewEditError(
            f"no article {i}: the preview has articles 0 to {len(preview.articles) - 1}"
        )
    return preview.articles[i]


def _text_with_heading(
    article: ProposedArticle, before: ProposedArticle, scheme: SplitScheme
) -> str:
    """An article's text as it reads inside the article it is merged into."""
    if scheme is SplitScheme.PARAGRAPH:
        return article.text if article.title == before.title else f"{article.title}\n{article.text}"
    if article.number == before.number:  # the second half of a split article
        return article.text
    if scheme is SplitScheme.ARTICLE:
        own = article.title.rpartition(_TITLE_SEP)[2]
        # a bare 第X条 heading ran into its text on one line, as in 第三条约定的情形……
        return f"{own}{article.text}" if own == article.article else f"{own}\n{article.text}"
    if article.title:
        return f"{article.number}. {article.title}\n{article.text}"
    return f"{article.number}. {article.text}"


def _draft_from_tail(tail: str, article: ProposedArticle, scheme: SplitScheme) -> _Draft:
    first_line, _, rest = tail.partition("\n")
    marker = _MARKERS.get(scheme)
    match = marker.match(first_line.strip()) if marker is not None else None
    if match is None or scheme is SplitScheme.PARAGRAPH:
        title = article.title if scheme is SplitScheme.PARAGRAPH else article.title + CONTINUED
        return _Draft(article.number, title, tail)
    number = _heading_number(match, scheme)
    inline = match.group(2).strip()
    if scheme is SplitScheme.ARTICLE:
        bracket = BRACKET_TITLE_RE.match(inline)
        heading = bracket.group(1) if bracket else ""
        inline = inline[bracket.end() :].strip() if bracket else inline
        context = article.title.rpartition(_TITLE_SEP)[0]
        own = _label(scheme, article.kind, number) + (f"【{heading}】" if heading else "")
        title = f"{context}{_TITLE_SEP}{own}" if context else own
        text = "\n".join(part for part in (inline, rest.strip()) if part) or own
        return _Draft(number, title, text)
    return _Draft(number, inline, rest.strip() or inline)


# --- warnings -----------------------------------------------------------------------------


def _warnings(
    meta: DocumentMeta,
    front_matter: dict[str, str],
    default_kind: PassageKind | None,
    scheme: SplitScheme,
    articles: Sequence[ProposedArticle],
) -> list[ImportWarning]:
    warnings = _missing_fields(meta, front_matter, default_kind)
    if scheme is SplitScheme.PARAGRAPH:
        warnings.append(
            ImportWarning(
                code=WarningCode.NO_ARTICLE_HEADINGS,
                message="no 第X条 headings or numbered sections found; "
                f"split into {len(articles)} paragraphs",
            )
        )
    elif scheme is SplitScheme.NUMBERED and meta.kind is PassageKind.CLAUSE:
        warnings.append(
            ImportWarning(
                code=WarningCode.NO_ARTICLE_HEADINGS,
                message="no 第X条 headings found; split at numbered sections "
                f"into {len(articles)} passages",
            )
        )
    if scheme is not SplitScheme.PARAGRAPH:
        warnings.extend(_numbering_warnings(articles))
    for index, article in enumerate(articles):
        if article.chars > LONG_ARTICLE_CHARS:
            warnings.append(
                ImportWarning(
                    code=WarningCode.LONG_ARTICLE,
                    message=f"{article.article} has {article.chars} characters "
                    f"(over {LONG_ARTICLE_CHARS}); is a heading missing?",
                    articles=[index],
                )
            )
        elif article.chars < SHORT_ARTICLE_CHARS:
            warnings.append(
                ImportWarning(
                    code=WarningCode.SHORT_ARTICLE,
                    message=f"{article.article} has only {article.chars} characters; "
                    "merge it with a neighbour if it is not a whole article",
                    articles=[index],
                )
            )
    return warnings


def _missing_fields(
    meta: DocumentMeta, front_matter: dict[str, str], default_kind: PassageKind | None
) -> list[ImportWarning]:
    defaults: dict[str, str] = {
        "doc_id": f"{meta.doc_id!r} (from the file name)",
        "document": f"{meta.document!r} (from the first heading or the file name)",
    }
    if default_kind is None:
        defaults["kind"] = repr(meta.kind.value)
    if meta.kind is PassageKind.CLAUSE:
        defaults["product"] = "none (product filters will not find these articles)"
        defaults["effective_date"] = "none (treated as in force on every date)"
        defaults["version"] = "none"
    return [
        ImportWarning(
            code=WarningCode.MISSING_FIELD,
            message=f"the front matter has no {field}; using {used}",
            field=field,
        )
        for field, used in defaults.items()
        if not front_matter.get(field)
    ]


def _numbering_warnings(articles: Sequence[ProposedArticle]) -> list[ImportWarning]:
    warnings: list[ImportWarning] = []
    by_number: dict[int, list[int]] = {}
    for index, article in enumerate(articles):
        by_number.setdefault(article.number, []).append(index)
    for indices in by_number.values():
        if len(indices) > 1:
            first = articles[indices[0]]
            ids = ", ".join(articles[i].id for i in indices)
            warnings.append(
                ImportWarning(
                    code=WarningCode.DUPLICATE_NUMBER,
                    message=f"{first.article} appears in {len(indices)} articles ({ids}); "
                    "merge them or fix the heading",
                    articles=indices,
                )
            )
    for index in range(1, len(articles)):
        before, article = articles[index - 1], articles[index]
        if article.number not in (before.number, before.number + 1):
            warnings.append(
                ImportWarning(
                    code=WarningCode.NUMBER_GAP,
                    message=f"{article.article} follows {before.article}; "
                    "is a heading missing or misread?",
                    articles=[index - 1, index],
                )
            )
    return warnings
