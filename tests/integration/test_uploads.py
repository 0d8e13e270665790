"""Uploads on a real database and a real directory: files by content hash, one file for the same
content, linked to the claim, nothing half-stored when the row fails, erased with the customer."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from customers.demo import generate
from customers.store import CustomerStore
from customers.uploads import (
    NewUpload,
    UploadKind,
    UploadLimits,
    UploadLinkError,
    UploadNotFoundError,
    UploadRejectedError,
    UploadStore,
)
from services.root import Services
from tests.unit.customers.test_uploads import PDF, jpeg, png

pytestmark = pytest.mark.integration

CLAIM, OWNER = "RC20260424000050", "C00005"


@pytest.fixture
def store(migrated_engine: Engine, tmp_path: Path) -> UploadStore:
    CustomerStore(migrated_engine).load_records(generate(20))
    return UploadStore(migrated_engine, tmp_path / "uploads", UploadLimits())


def _files(store: UploadStore) -> list[Path]:
    return sorted(p for p in store.directory.rglob("*") if p.is_file())


def test_a_photo_is_stored_by_content_hash_and_linked_to_the_claim(store: UploadStore) -> None:
    added = store.add(NewUpload(data=jpeg(gps=True), filename="a/../车损.jpg", claim_no=CLAIM))
    assert (added.customer_id, added.claim_no, added.kind) == (OWNER, CLAIM, UploadKind.PHOTO)
    assert added.original_name == "车损.jpg" and added.gps is None
    stored = store.directory / added.sha256[:2] / f"{added.sha256}.jpg"
    assert _files(store) == sorted([stored, stored.with_name(f"{added.sha256}.thumb.jpg")])
    assert store.read(added.id) == stored.read_bytes()
    assert [d.id for d in store.for_claim(CLAIM)] == [added.id]
    assert [d.id for d in store.for_customer(OWNER)] == [added.id]
    assert store.get(added.id) == added
    thumbnail = store.thumbnail(added.id)
    assert thumbnail is not None and len(thumbnail) < 20_000
    with Image.open(io.BytesIO(thumbnail)) as thumb:
        assert max(thumb.size) == 240


def test_the_location_is_kept_in_the_row_when_asked(store: UploadStore) -> None:
    added = store.add(NewUpload(data=jpeg(gps=True), claim_no=CLAIM, keep_location=True))
    assert added.gps is not None and round(added.gps.lat, 3) == 31.230
    assert store.get(added.id).gps == added.gps
    assert b"Exif" not in store.read(added.id)


def test_the_same_content_twice_is_one_file_and_two_rows(store: UploadStore) -> None:
    first = store.add(NewUpload(data=png(), claim_no=CLAIM))
    second = store.add(NewUpload(data=png(), customer_id="C00006"))
    assert first.id != second.id and first.sha256 == second.sha256
    assert len(_files(store)) == 2  # the PNG and its thumbnail, once


def test_a_pdf_has_no_thumbnail(store: UploadStore) -> None:
    added = store.add(NewUpload(data=PDF, filename="保单.pdf", claim_no=CLAIM))
    assert store.read(added.id) == PDF
    assert store.thumbnail(added.id) is None


def test_a_refused_file_leaves_nothing(store: UploadStore) -> None:
    with pytest.raises(UploadRejectedError):
        store.add(NewUpload(data=b"MZ" + b"\x00" * 100, claim_no=CLAIM))
    assert _files(store) == [] and store.for_claim(CLAIM) == []


def test_an_unknown_or_someone_else_s_claim_is_refused_and_nothing_stays(
    store: UploadStore,
) -> None:
    with pytest.raises(UploadLinkError, match="no claim 'RC0'"):
        store.add(NewUpload(data=jpeg(), claim_no="RC0"))
    with pytest.raises(UploadLinkError, match="not this customer's"):
        store.add(NewUpload(data=jpeg(), claim_no=CLAIM, customer_id="C00006"))
    assert _files(store) == []


def test_when_the_row_cannot_be_written_the_new_file_is_removed(
    store: UploadStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = store.add(NewUpload(data=PDF, claim_no=CLAIM))
    before = _files(store)

    def broken(conn: Connection, *args: object) -> None:
        raise OperationalError("INSERT INTO uploads", {}, Exception("disk I/O error"))

    monkeypatch.setattr(store, "_insert", broken)
    with pytest.raises(OperationalError):
        store.add(NewUpload(data=jpeg(), claim_no=CLAIM))
    assert _files(store) == before  # the new photo and its thumbnail are gone
    with pytest.raises(OperationalError):
        store.add(NewUpload(data=PDF, claim_no=CLAIM))
    assert _files(store) == before  # the file another row references stays
    assert store.read(kept.id) == PDF


def test_erasing_removes_the_rows_and_the_files_no_one_else_uses(store: UploadStore) -> None:
    mine = store.add(NewUpload(data=jpeg(), claim_no=CLAIM))
    shared = store.add(NewUpload(data=PDF, claim_no=CLAIM))
    other = store.add(NewUpload(data=PDF, customer_id="C00006"))
    chat = store.add(NewUpload(data=png(), conversation_id="S1"))
    with store.transaction() as conn:
        assert len(store.export_rows(conn, OWNER, ["S1"])) == 3
        count, shas = store.erase_rows(conn, OWNER, ["S1"])
    assert count == 3
    assert store.remove_files(shas) == 4  # the photo, the PNG and both their thumbnails
    assert store.read(other.id) == PDF
    for gone in (mine, shared, chat):
        with pytest.raises(UploadNotFoundError):
            store.read(gone.id)
    assert [p.name for p in _files(store)] == [f"{other.sha256}.pdf"]


def test_a_privacy_export_lists_the_uploads_and_an_erasure_removes_them_with_their_files(
    fake_services: Services,
) -> None:
    services = fake_services
    services.customers.load_records(generate(20))
    services.accounts.add("s001", "Super-Pass-26", ["supervisor"])
    supervisor = services.accounts.get("s001")
    conversation, _ = services.conversations.create("app")
    conversation.customer_id = OWNER
    services.conversations.save(conversation, 1)
    uploads = services.uploads
    photo = uploads.add(NewUpload(data=jpeg(gps=True), claim_no=CLAIM, keep_location=True))
    sent = uploads.add(NewUpload(data=PDF, conversation_id=conversation.id))
    assert uploads.directory == services.settings.data_dir / "uploads"

    exported = services.privacy.export(supervisor, OWNER)
    assert {u["id"] for u in exported["uploads"]} == {photo.id, sent.id}
    assert exported["uploads"][0]["gps"] is not None  # it is theirs: the position too

    report = services.privacy.erase(supervisor, OWNER)
    assert report.deleted["uploads"] == 2
    assert uploads.for_claim(CLAIM) == [] and _files(uploads) == []
    assert services.privacy.erase(supervisor, OWNER).deleted["uploads"] == 0


def test_the_retention_purge_removes_old_chat_uploads_but_keeps_a_claim_s(
    fake_services: Services,
) -> None:
    services = fake_services
    services.customers.load_records(generate(20))
    uploads = services.uploads
    long_ago = datetime.now(UTC) - timedelta(days=services.settings.retention_chat_days + 1)
    chat = uploads.add(NewUpload(data=png(), conversation_id="S1"), now=long_ago)
    claim = uploads.add(NewUpload(data=PDF, claim_no=CLAIM), now=long_ago)
    fresh = uploads.add(NewUpload(data=jpeg(), conversation_id="S2"))

    assert services.privacy.purge("test", dry_run=True).removed["chat_uploads"] == 1
    assert len(_files(uploads)) == 5  # a dry run removes nothing
    assert services.privacy.purge("test").removed["chat_uploads"] == 1
    with pytest.raises(UploadNotFoundError):
        uploads.get(chat.id)
    assert uploads.read(claim.id) == PDF and uploads.thumbnail(fresh.id) is not None
    assert len(_files(uploads)) == 3
    assert services.privacy.purge("test").removed["chat_uploads"] == 0
