"""Agents see a claim's photos as thumbnails (with where they were taken, when kept) and its
documents by name, on the caller's profile."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _claim_with_documents() -> None:
    import io
    from datetime import UTC, datetime

    from PIL import Image

    from customers.uploads import GeoPoint, UploadedDocument, UploadKind
    from ui.widgets import render_claim_documents

    def document(name: str, kind: UploadKind, gps: GeoPoint | None = None) -> UploadedDocument:
        return UploadedDocument(
            id=f"U{name}",
            claim_no="RC1",
            customer_id="C1",
            conversation_id=None,
            kind=kind,
            content_type="image/jpeg" if kind is UploadKind.PHOTO else "application/pdf",
            size=20480,
            sha256="0" * 64,
            original_name=name,
            gps=gps,
            has_thumbnail=kind is UploadKind.PHOTO,
            uploaded_by="customer",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
        )

    out = io.BytesIO()
    Image.new("RGB", (240, 180), (10, 20, 30)).save(out, format="JPEG")
    render_claim_documents(
        [
            (
                document("现场.jpg", UploadKind.PHOTO, GeoPoint(lat=31.2304, lon=121.4737)),
                out.getvalue(),
            ),
            (document("保单.pdf", UploadKind.DOCUMENT), None),
        ]
    )
    render_claim_documents([])  # a claim without uploads shows nothing


def test_a_claim_shows_its_photos_as_thumbnails_and_its_documents_by_name() -> None:
    app = AppTest.from_function(_claim_with_documents).run()
    assert not app.exception
    captions = [c.value for c in app.caption]
    # the customer's file name is shown as text (markdown escaped), never rendered
    assert captions == ["📎 照片与单据（2）", "📄 保单\\.pdf · 20 KB"]
    images = app.get("image")
    assert len(images) == 1
    assert "现场.jpg · 📍31.2304,121.4737" in str(images[0].proto)
