"""Photos and documents for claims: checked, cleaned, stored by content hash, linked to the claim.

The only module that imports Pillow. What a file is comes from its bytes (the magic numbers),
never from the name or the type the client claims. Photos (JPEG, PNG, WebP; HEIC when the
server has ``pillow_heif``) are decoded and re-encoded: orientation applied, EXIF and every other
embedded metadata dropped, a 240 px JPEG thumbnail made. Their GPS position is read before it
is dropped, and kept (as columns, never in the file) only when the caller says the claim needs
it (``keep_location``: the accident photos of a claim report). PDFs are documents, stored as
sent.

Files live outside the database, under ``<uploads_dir>/<sha256[:2]>/<sha256>.<ext>``: written
to a temporary file and renamed into place, so a reader never sees half a file; the same content
is one file however many rows point to it. The row is written after the file; when the row
cannot be written, a file that this call created and no row references is removed again.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from core.errors import PolicyDeskError
from db.schema import claims, uploads_table
from db.store import SqlStore

THUMBNAIL_PX = 240
"""The longer side of a photo's thumbnail, in pixels."""
JPEG_QUALITY = 85
MAX_NAME_CHARS = 100
_GPS_IFD = 0x8825  # EXIF tag 34853, GPSInfo


class UploadKind(StrEnum):
    """What an upload is: a photo (re-encoded) or a document (a PDF, stored as sent)."""

    PHOTO = "photo"
    DOCUMENT = "document"


class RejectReason(StrEnum):
    """Why an upload was refused (the API maps each to a status)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    UNREADABLE = "unreadable"
    TOO_MANY_PIXELS = "too_many_pixels"


class UploadRejectedError(PolicyDeskError):
    """A file that cannot be accepted; nothing of it was stored.

    Args:
        reason: what is wrong, as a code.
        message: the same for a person, naming the limit or the type found.
    """

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UploadNotFoundError(PolicyDeskError):
    """No upload with this id (or its file is gone)."""


class UploadLinkError(PolicyDeskError):
    """The claim an upload is to be linked to does not exist, or is another customer's."""


class GeoPoint(BaseModel):
    """Where a photo was taken (WGS-84 degrees, as the camera wrote it)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class UploadLimits(BaseModel):
    """What is accepted (from the settings ``upload_*``)."""

    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_pixels: int = Field(default=40_000_000, ge=1)
    kinds: frozenset[UploadKind] = frozenset(UploadKind)


class NewUpload(BaseModel):
    """A file to store, and what it belongs to.

    ``declared_type`` is what the client said the file is; it is recorded nowhere and decides
    nothing (the bytes do).
    """

    model_config = ConfigDict(frozen=True)

    data: bytes = Field(repr=False)
    filename: str = ""
    declared_type: str | None = None
    claim_no: str | None = Field(default=None, max_length=32)
    customer_id: str | None = Field(default=None, max_length=32)
    conversation_id: str | None = Field(default=None, max_length=40)
    keep_location: bool = Field(
        default=False,
        description="keep the photo's GPS position (as data, not in the file): only for a claim "
        "that needs where it happened",
    )
    uploaded_by: str = Field(default="customer", min_length=1, max_length=64)


class UploadedDocument(BaseModel):
    """A stored upload (what callers see; the file is read with ``UploadStore.read``)."""

    id: str
    claim_no: str | None
    customer_id: str | None
    conversation_id: str | None
    kind: UploadKind
    content_type: str
    size: int = Field(description="bytes as stored (a photo after re-encoding)")
    sha256: str
    original_name: str = Field(description="the client's file name, sanitised")
    gps: GeoPoint | None
    has_thumbnail: bool
    uploaded_by: str
    created_at: datetime


class _Prepared(BaseModel):
    """A checked, cleaned file ready to store."""

    kind: UploadKind
    content_type: str
    extension: str
    data: bytes = Field(repr=False)
    thumbnail: bytes | None = Field(default=None, repr=False)
    gps: GeoPoint | None = None


# ----- what a file is, from its bytes -------------------------------------------------------

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis")


def sniff(data: bytes) -> str | None:
    """The format the bytes are in (``jpeg``, ``png``, ``webp``, ``heic``, ``pdf``), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return None


def _looks_like(data: bytes) -> str:
    """A hint of what a refused file is, for the message."""
    if data.startswith(b"MZ") or data.startswith(b"\x7fELF"):
        return "an executable program"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive or Office file"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image"
    return "none of the accepted types"


def sanitise_name(name: str) -> str:
    """The client's file name made safe to show and to send back in a header: the last path
    part, letters (any script), digits and ``._-() `` only, at most 100 characters."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    cleaned = re.sub(r"[^\w.\-() ]", "_", base).strip(" .")
    if len(cleaned) > MAX_NAME_CHARS:
        _, dot, ext = cleaned.rpartition(".")
        ext = ext[:10] if dot else ""
        cleaned = cleaned[: MAX_NAME_CHARS - len(ext) - 1] + ("." + ext if ext else "")
    return cleaned or "upload"


def _heif_opener() -> bool:
    """Whether HEIC can be decoded here (``pillow_heif`` installed; registered once)."""
    try:
        module: Any = importlib.import_module("pillow_heif")
    except ImportError:
        return False
    module.register_heif_opener()
    return True


def _rational(value: Any) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # an old-style (numerator, denominator)
        return float(value[0]) / float(value[1]) if value[1] else 0.0
    return float(value)


def _gps(exif: Image.Exif) -> GeoPoint | None:
    """The position in the EXIF GPS block, when it is complete and sensible."""
    try:
        block = exif.get_ifd(_GPS_IFD)
        lat_ref, lat, lon_ref, lon = block[1], block[2], block[3], block[4]
        degrees = [
            sum(_rational(part) / 60**i for i, part in enumerate(value)) for value in (lat, lon)
        ]
        if str(lat_ref).upper().startswith("S"):
            degrees[0] = -degrees[0]
        if str(lon_ref).upper().startswith("W"):
            degrees[1] = -degrees[1]
        return GeoPoint(lat=round(degrees[0], 7), lon=round(degrees[1], 7))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None


def _flatten(image: Image.Image) -> Image.Image:
    """The image in RGB, transparency laid on white (for JPEG)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def prepare(upload: NewUpload, limits: UploadLimits) -> _Prepared:
    """Check and clean a file: the bytes decide its type; photos are decoded and re-encoded.

    Raises:
        UploadRejectedError: empty, too large, a type not allowed, not a readable image or PDF,
            or more pixels than allowed.
    """
    data = upload.data
    if not data:
        raise UploadRejectedError(RejectReason.EMPTY, "the file is empty")
    if len(data) > limits.max_bytes:
        raise UploadRejectedError(
            RejectReason.TOO_LARGE,
            f"the file is {len(data)} bytes; at most {limits.max_bytes} bytes "
            f"({limits.max_bytes / 1024 / 1024:.0f} MiB) are accepted",
        )
    found = sniff(data)
    if found is None:
        raise UploadRejectedError(
            RejectReason.TYPE_NOT_ALLOWED,
            f"file type not allowed: the content is {_looks_like(data)}; "
            "send a photo (JPEG, PNG, WebP) or a PDF",
        )
    kind = UploadKind.DOCUMENT if found == "pdf" else UploadKind.PHOTO
    if kind not in limits.kinds:
        raise UploadRejectedError(
            RejectReason.TYPE_NOT_ALLOWED, f"file type not allowed: {kind.value}s are not accepted"
        )
    if found == "pdf":
        if b"%%EOF" not in data[-2048:]:
            raise UploadRejectedError(
                RejectReason.UNREADABLE, "the PDF is incomplete (no end marker): send it again"
            )
        return _Prepared(kind=kind, content_type="application/pdf", extension="pdf", data=data)
    if found == "heic" and not _heif_opener():
        raise UploadRejectedError(
            RejectReason.TYPE_NOT_ALLOWED,
            "file type not allowed: HEIC photos cannot be read here; send JPEG or PNG "
            "(on an iPhone: Settings > Camera > Formats > Most Compatible)",
        )
    return _reencode(data, found, upload.keep_location, limits)


def _reencode(data: bytes, found: str, keep_location: bool, limits: UploadLimits) -> _Prepared:
    unreadable = UploadRejectedError(
        RejectReason.UNREADABLE, f"the file is not a readable {found.upper()} image"
    )
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns first; a warning here is a refusal
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size  # from the header: nothing decoded yet
                if width * height > limits.max_pixels:
                    raise UploadRejectedError(
                        RejectReason.TOO_MANY_PIXELS,
                        f"the image is {width}x{height} = {width * height} pixels; at most "
                        f"{limits.max_pixels} are accepted",
                    )
                gps = _gps(opened.getexif()) if keep_location else None
                opened.load()
                upright = ImageOps.exif_transpose(opened)
    except UploadRejectedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejectedError(
            RejectReason.TOO_MANY_PIXELS,
            f"the image declares more pixels than the {limits.max_pixels} accepted",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise unreadable from None
    upright.info.clear()  # EXIF, XMP, comments, ICC: nothing of the original's metadata
    out = io.BytesIO()
    if found == "png" or _has_alpha(upright):
        clean = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
        clean.save(out, format="PNG", optimize=True)
        content_type, extension = "image/png", "png"
    else:
        clean = _flatten(upright)
        clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type, extension = "image/jpeg", "jpg"
    thumb = _flatten(clean)
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return _Prepared(
        kind=UploadKind.PHOTO,
        content_type=content_type,
        extension=extension,
        data=out.getvalue(),
        thumbnail=thumb_out.getvalue(),
        gps=gps,
    )


# ----- the store ------------------------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> bool:
    """Write ``data`` at ``path`` unless a file is there already (the same content, by name);
    True when this call created it."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


class UploadStore(SqlStore):
    """Stores uploads: the file under ``directory`` by content hash, its row in ``uploads``.

    Args:
        engine: the shared engine.
        directory: where files go (``Settings.uploads_dir``).
        limits: what is accepted.
    """

    def __init__(self, engine: Engine, directory: Path, limits: UploadLimits | None = None) -> None:
        super().__init__(engine)
        self.directory = directory
        self.limits = limits or UploadLimits()

    # ----- writing ------------------------------------------------------------------------

    def add(self, upload: NewUpload, now: datetime | None = None) -> UploadedDocument:
        """Check, clean and store a file, linked to its claim and conversation.

        The customer is the claim's when a claim is named. Nothing is left behind on failure:
        the file is written first, and removed again when the row cannot be.

        Raises:
            UploadRejectedError: the file is not accepted (the message says why).
            UploadLinkError: the claim does not exist, or belongs to another customer than
                ``customer_id``.
        """
        prepared = prepare(upload, self.limits)
        sha = hashlib.sha256(prepared.data).hexdigest()
        created = [p for p in self._write_files(sha, prepared) if p is not None]
        try:
            with self.transaction() as conn:
                customer_id = self._linked_customer(conn, upload)
                document = UploadedDocument(
                    id="U" + secrets.token_hex(12),
                    claim_no=upload.claim_no,
                    customer_id=customer_id,
                    conversation_id=upload.conversation_id,
                    kind=prepared.kind,
                    content_type=prepared.content_type,
                    size=len(prepared.data),
                    sha256=sha,
                    original_name=sanitise_name(upload.filename),
                    gps=prepared.gps,
                    has_thumbnail=prepared.thumbnail is not None,
                    uploaded_by=upload.uploaded_by,
                    created_at=now or datetime.now(UTC),
                )
                self._insert(conn, document, prepared.extension)
        except BaseException:
            self._remove_unreferenced({sha}, only=created)
            raise
        # the same content uploaded at this moment by another request whose row failed may have
        # taken the file with it (our row was not committed yet): put it back
        self._write_files(sha, prepared)
        return document

    def _write_files(self, sha: str, prepared: _Prepared) -> list[Path | None]:
        path = self._path(sha, prepared.extension)
        written: list[Path | None] = [path if _write_atomically(path, prepared.data) else None]
        if prepared.thumbnail is not None:
            thumb = self._thumb_path(sha)
            written.append(thumb if _write_atomically(thumb, prepared.thumbnail) else None)
        return written

    @staticmethod
    def _linked_customer(conn: Connection, upload: NewUpload) -> str | None:
        if upload.claim_no is None:
            return upload.customer_id
        owner = conn.execute(
            select(claims.c.customer_id).where(claims.c.claim_no == upload.claim_no)
        ).first()
        if owner is None:
            raise UploadLinkError(f"no claim {upload.claim_no!r}")
        if upload.customer_id is not None and owner.customer_id != upload.customer_id:
            raise UploadLinkError(f"claim {upload.claim_no!r} is not this customer's")
        return str(owner.customer_id) if owner.customer_id is not None else None

    @staticmethod
    def _insert(conn: Connection, document: UploadedDocument, extension: str) -> None:
        values = document.model_dump(exclude={"gps"})
        gps = document.gps
        conn.execute(
            insert(uploads_table).values(
                **values,
                extension=extension,
                gps_lat=gps.lat if gps else None,
                gps_lon=gps.lon if gps else None,
            )
        )

    def link(
        self, upload_ids: Sequence[str], claim_no: str, customer_id: str
    ) -> list[UploadedDocument]:
        """Link files already sent (in a chat) to one of the customer's claims, all or none.

        Raises:
            UploadNotFoundError: an unknown id.
            UploadLinkError: the claim is not the customer's, or a file is another customer's.
        """
        with self.transaction() as conn:
            owner = conn.execute(
                select(claims.c.customer_id).where(claims.c.claim_no == claim_no)
            ).scalar()
            if owner is None or str(owner) != customer_id:
                raise UploadLinkError(f"claim {claim_no!r} is not this customer's")
            for upload_id in upload_ids:
                row = conn.execute(
                    select(uploads_table.c.customer_id).where(uploads_table.c.id == upload_id)
                ).first()
                if row is None:
                    raise UploadNotFoundError(f"no upload {upload_id!r}")
                if row.customer_id not in (None, customer_id):
                    raise UploadLinkError(f"upload {upload_id!r} is another customer's")
                conn.execute(
                    update(uploads_table)
                    .where(uploads_table.c.id == upload_id)
                    .values(claim_no=claim_no, customer_id=customer_id)
                )
        return [self.get(upload_id) for upload_id in upload_ids]

    # ----- reading ------------------------------------------------------------------------

    def claim_owner(self, claim_no: str) -> str | None:
        """The customer a claim belongs to; None for an unknown claim (or one without)."""
        with self.reading() as conn:
            owner = conn.execute(
                select(claims.c.customer_id).where(claims.c.claim_no == claim_no)
            ).scalar()
        return None if owner is None else str(owner)

    def get(self, upload_id: str) -> UploadedDocument:
        """One upload's record.

        Raises:
            UploadNotFoundError: unknown id.
        """
        with self.reading() as conn:
            row = conn.execute(select(uploads_table).where(uploads_table.c.id == upload_id)).first()
        if row is None:
            raise UploadNotFoundError(f"no upload {upload_id!r}")
        return self._document(row)

    def for_claim(self, claim_no: str) -> list[UploadedDocument]:
        """A claim's uploads, oldest first."""
        return self._where(uploads_table.c.claim_no == claim_no)

    def for_customer(self, customer_id: str) -> list[UploadedDocument]:
        """A customer's uploads (through their claims or as given), oldest first."""
        return self._where(uploads_table.c.customer_id == customer_id)

    def read(self, upload_id: str) -> bytes:
        """The stored file (a photo as re-encoded: no EXIF).

        Raises:
            UploadNotFoundError: unknown id, or its file is missing.
        """
        with self.reading() as conn:
            row = conn.execute(
                select(uploads_table.c.sha256, uploads_table.c.extension).where(
                    uploads_table.c.id == upload_id
                )
            ).first()
        if row is None:
            raise UploadNotFoundError(f"no upload {upload_id!r}")
        try:
            return self._path(row.sha256, row.extension).read_bytes()
        except FileNotFoundError:
            raise UploadNotFoundError(f"the file of upload {upload_id!r} is missing") from None

    def thumbnail(self, upload_id: str) -> bytes | None:
        """A photo's 240 px JPEG thumbnail; None for a document.

        Raises:
            UploadNotFoundError: unknown id.
        """
        document = self.get(upload_id)
        if not document.has_thumbnail:
            return None
        try:
            return self._thumb_path(document.sha256).read_bytes()
        except FileNotFoundError:
            return None

    # ----- privacy (privacy.service) ------------------------------------------------------

    def export_rows(
        self, conn: Connection, customer_id: str, conversation_ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The customer's uploads' records as JSON-ready data (the files are read by id)."""
        return [
            d.model_dump(mode="json")
            for d in self._where(self._owned(customer_id, conversation_ids), conn)
        ]

    def erase_rows(
        self, conn: Connection, customer_id: str, conversation_ids: Sequence[str]
    ) -> tuple[int, set[str]]:
        """Delete the customer's uploads (theirs, and their conversations') in the caller's
        transaction; returns how many, and the content hashes to pass to ``remove_files`` once
        it committed."""
        owned = self._owned(customer_id, conversation_ids)
        shas = {r.sha256 for r in conn.execute(select(uploads_table.c.sha256).where(owned))}
        count = conn.execute(delete(uploads_table).where(owned)).rowcount
        return int(count), shas

    def purge_rows(
        self, conn: Connection, cutoff: datetime, dry_run: bool = False
    ) -> tuple[int, set[str]]:
        """Delete, in the caller's transaction, the uploads older than ``cutoff`` that belong to
        no claim (a claim's photos and documents are part of the claim file and stay with it);
        returns how many, and the hashes for ``remove_files`` after the commit."""
        old = (uploads_table.c.created_at < cutoff) & uploads_table.c.claim_no.is_(None)
        shas = {r.sha256 for r in conn.execute(select(uploads_table.c.sha256).where(old))}
        if dry_run:
            return len(conn.execute(select(uploads_table.c.id).where(old)).all()), set()
        return int(conn.execute(delete(uploads_table).where(old)).rowcount), shas

    def remove_files(self, shas: Iterable[str]) -> int:
        """Remove the files (and thumbnails) of these hashes that no row references any more;
        returns how many files went."""
        return self._remove_unreferenced(set(shas))

    # ----- helpers ------------------------------------------------------------------------

    @staticmethod
    def _owned(customer_id: str, conversation_ids: Sequence[str]) -> Any:
        condition = uploads_table.c.customer_id == customer_id
        if conversation_ids:
            condition = condition | uploads_table.c.conversation_id.in_(list(conversation_ids))
        return condition

    def _remove_unreferenced(self, shas: set[str], only: Sequence[Path] | None = None) -> int:
        """Delete the files of ``shas`` no row references (limited to ``only`` when given)."""
        if not shas:
            return 0
        with self.reading() as conn:
            kept = {
                r.sha256
                for r in conn.execute(
                    select(uploads_table.c.sha256)
                    .where(uploads_table.c.sha256.in_(shas))
                    .group_by(uploads_table.c.sha256)
                    .having(func.count() > 0)
                )
            }
        removed = 0
        for sha in shas - kept:
            for path in self.directory.joinpath(sha[:2]).glob(f"{sha}.*"):
                if only is not None and path not in only:
                    continue
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _where(self, condition: Any, conn: Connection | None = None) -> list[UploadedDocument]:
        with self.reading(conn) as reading:
            rows = reading.execute(
                select(uploads_table)
                .where(condition)
                .order_by(uploads_table.c.created_at, uploads_table.c.id)
            ).all()
        return [self._document(r) for r in rows]

    @staticmethod
    def _document(row: Any) -> UploadedDocument:
        values = dict(row._mapping)
        lat, lon = values.pop("gps_lat"), values.pop("gps_lon")
        values.pop("extension")
        gps = GeoPoint(lat=lat, lon=lon) if lat is not None and lon is not None else None
        return UploadedDocument.model_validate({**values, "gps": gps})

    def _path(self, sha: str, extension: str) -> Path:
        return self.directory / sha[:2] / f"{sha}.{extension}"

    def _thumb_path(self, sha: str) -> Path:
        return self.directory / sha[:2] / f"{sha}.thumb.jpg"
