"""What an upload is comes from its bytes; photos come out re-encoded without their metadata,
with their GPS position only when asked; every bad file is refused with a message that names the
problem."""

from __future__ import annotations

import importlib.util
import io

import pytest
from PIL import Image

from customers.uploads import (
    NewUpload,
    RejectReason,
    UploadKind,
    UploadLimits,
    UploadRejectedError,
    prepare,
    sanitise_name,
    sniff,
)

LIMITS = UploadLimits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000)
# 31.2304 N, 121.4737 E (central Shanghai) as EXIF degrees, minutes, seconds
SHANGHAI = ((31.0, 13.0, 49.44), (121.0, 28.0, 25.32))


def jpeg(
    size: tuple[int, int] = (640, 480), gps: bool = False, orientation: int | None = None
) -> bytes:
    """A JPEG made here, with EXIF (a camera model, optionally GPS and an orientation)."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[0x0110] = "Test Camera"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: SHANGHAI[0], 3: "E", 4: SHANGHAI[1]}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size: tuple[int, int] = (300, 200), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 0).save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _rejected(data: bytes, reason: RejectReason, limits: UploadLimits = LIMITS) -> str:
    with pytest.raises(UploadRejectedError) as caught:
        prepare(NewUpload(data=data, filename="x.jpg", declared_type="image/jpeg"), limits)
    assert caught.value.reason is reason
    return str(caught.value)


def _exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


def test_a_jpeg_is_re_encoded_without_any_exif_and_its_gps_is_dropped_by_default() -> None:
    original = jpeg(gps=True)
    assert _exif_of(original).get_ifd(0x8825)  # the input does carry a position
    prepared = prepare(NewUpload(data=original, filename="车损.jpg"), LIMITS)
    assert prepared.kind is UploadKind.PHOTO
    assert (prepared.content_type, prepared.extension) == ("image/jpeg", "jpg")
    assert prepared.gps is None
    assert len(_exif_of(prepared.data)) == 0
    assert b"Test Camera" not in prepared.data
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.format == "JPEG" and image.size == (640, 480)


def test_gps_is_kept_as_data_only_when_the_claim_needs_the_location() -> None:
    prepared = prepare(NewUpload(data=jpeg(gps=True), keep_location=True), LIMITS)
    assert prepared.gps is not None
    assert prepared.gps.lat == pytest.approx(31.2304, abs=1e-4)
    assert prepared.gps.lon == pytest.approx(121.4737, abs=1e-4)
    assert len(_exif_of(prepared.data)) == 0  # never in the file
    assert prepare(NewUpload(data=jpeg(), keep_location=True), LIMITS).gps is None


def test_the_orientation_is_applied_before_the_exif_goes() -> None:
    # orientation 6: the camera was turned; the stored photo must stand upright
    prepared = prepare(NewUpload(data=jpeg(size=(640, 480), orientation=6)), LIMITS)
    with Image.open(io.BytesIO(prepared.data)) as image:
        assert image.size == (480, 640)


def test_a_png_stays_a_png_with_its_transparency_and_a_small_jpeg_thumbnail() -> None:
    prepared = prepare(NewUpload(data=png((1200, 800))), LIMITS)
    assert (prepared.content_type, prepared.extension) == ("image/png", "png")
    assert prepared.thumbnail is not None
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 240
    assert len(prepared.thumbnail) < 20_000


def test_a_webp_photo_comes_out_as_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGB", (100, 80), (1, 2, 3)).save(out, format="WEBP")
    prepared = prepare(NewUpload(data=out.getvalue()), LIMITS)
    assert prepared.content_type == "image/jpeg"


def test_a_pdf_is_a_document_stored_as_sent() -> None:
    prepared = prepare(NewUpload(data=PDF, filename="驾驶证.pdf"), LIMITS)
    assert prepared.kind is UploadKind.DOCUMENT
    assert (prepared.content_type, prepared.data, prepared.thumbnail) == (
        "application/pdf",
        PDF,
        None,
    )


def test_an_empty_file_is_refused() -> None:
    assert _rejected(b"", RejectReason.EMPTY) == "the file is empty"


def test_a_file_over_the_limit_is_refused_naming_the_limit() -> None:
    message = _rejected(PDF + b"0" * LIMITS.max_bytes, RejectReason.TOO_LARGE)
    assert str(LIMITS.max_bytes) in message and "2 MiB" in message


def test_the_bytes_decide_the_type_not_the_name_or_the_claimed_type() -> None:
    exe = b"MZ\x90\x00" + b"\x00" * 200
    message = _rejected(exe, RejectReason.TYPE_NOT_ALLOWED)
    assert "executable" in message and "JPEG" in message
    gif = b"GIF89a" + b"\x00" * 50
    assert "GIF" in _rejected(gif, RejectReason.TYPE_NOT_ALLOWED)


def test_a_truncated_image_is_not_readable() -> None:
    whole = jpeg(size=(800, 600))
    message = _rejected(whole[: len(whole) // 2], RejectReason.UNREADABLE)
    assert "not a readable JPEG" in message


def test_a_truncated_pdf_is_refused() -> None:
    _rejected(PDF[:-8], RejectReason.UNREADABLE)


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    # a few KB of PNG that would decode to 49 million pixels
    out = io.BytesIO()
    Image.new("1", (7000, 7000), 0).save(out, format="PNG")
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    limits = UploadLimits(max_bytes=1024 * 1024, max_pixels=40_000_000)
    message = _rejected(bomb, RejectReason.TOO_MANY_PIXELS, limits)
    assert "7000x7000" in message and "40000000" in message


def test_heic_without_a_decoder_is_refused_with_what_to_send_instead() -> None:
    if importlib.util.find_spec("pillow_heif") is not None:
        pytest.skip("pillow_heif is installed here: HEIC is decoded")
    heic = b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100
    assert "HEIC" in _rejected(heic, RejectReason.TYPE_NOT_ALLOWED)


def test_a_kind_the_settings_leave_out_is_refused() -> None:
    photos_only = UploadLimits(kinds=frozenset({UploadKind.PHOTO}))
    assert "documents" in _rejected(PDF, RejectReason.TYPE_NOT_ALLOWED, photos_only)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\王\\车损 照片.JPG", "车损 照片.JPG"),
        ("a<script>.pdf", "a_script_.pdf"),
        ("", "upload"),
        ("...", "upload"),
    ],
)
def test_file_names_are_sanitised(given: str, expected: str) -> None:
    assert sanitise_name(given) == expected


def test_a_long_name_keeps_its_extension() -> None:
    name = sanitise_name("长" * 300 + ".jpeg")
    assert len(name) == 100 and name.endswith(".jpeg")


def test_sniffing_knows_the_accepted_formats() -> None:
    assert [sniff(d) for d in (jpeg(), png(), PDF, b"\x00\x00\x00\x18ftypheic")] == [
        "jpeg",
        "png",
        "pdf",
        "heic",
    ]
