"""Stored encrypted, built once per request, opened only with the right token in time."""

import io
import zipfile
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from deployments.registry import build_registry
from disclosure import (
    LIFETIME,
    PackageIntegrityError,
    PackageNotAvailable,
    build_and_store,
    open_package,
    purge_unavailable,
    reissue_token,
    revoke_package,
    router,
)
from disclosure.download import printable_package
from models.audit import AuditEvent
from models.db import unit_of_work
from models.letters import Letter
from models.packages import DisclosurePackage
from models.settings import get_settings
from tests.disclosure.conftest import ALL_SYSTEMS, EMAIL, NAME, NOW, PHONE

LATER = NOW + timedelta(hours=1)


def _open(desk, reference, token, now=LATER):
    with unit_of_work(desk) as session:
        return open_package(session, desk, reference, token, now)


def _packages(desk, reference):
    with unit_of_work(desk) as session:
        return session.exec(select(DisclosurePackage).where(DisclosurePackage.reference == reference)).all()


@pytest.fixture
def stored(desk, new_request):
    reference = new_request(third_party=True)
    return reference, build_and_store(desk, reference, ALL_SYSTEMS, registry=build_registry(desk), now=NOW)


def test_receipt_holds_references_sizes_expiry_and_the_token_once(desk, stored):
    reference, receipt = stored
    assert receipt.created and receipt.reference == reference
    assert receipt.expires_at == NOW + LIFETIME == NOW + timedelta(days=7)
    assert receipt.size_bytes > 0 and receipt.stored_bytes > receipt.size_bytes
    assert receipt.token and len(receipt.token) >= 43 and receipt.token not in repr(receipt)
    (row,) = _packages(desk, reference)
    assert row.token_hash != receipt.token and len(row.token_hash) == 64
    assert (row.downloaded_count, row.revoked) == (0, False)


def test_nothing_readable_on_disk(desk, stored):
    reference, _receipt = stored
    files = list((desk.data_dir / "packages").iterdir())
    assert files and all(reference not in f.name for f in files)
    needles = [s.encode() for s in (EMAIL, NAME, PHONE, "株式会社サンプル", "顧客マスタ")]
    for f in files:
        data = f.read_bytes()
        assert not any(n in data for n in needles)
        assert b"PK\x03\x04" not in data and b"%PDF" not in data
        assert f.stat().st_mode & 0o077 == 0


def test_right_token_opens_the_zip_and_counts(desk, stored):
    reference, receipt = stored
    name, data = _open(desk, reference, receipt.token)
    assert name == f"{reference}.zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["csv", "csv", "html", "json", "pdf"]
    assert EMAIL.encode() in zipfile.ZipFile(io.BytesIO(data)).read(f"{reference}-disclosure.json")
    _open(desk, reference, receipt.token)
    (row,) = _packages(desk, reference)
    assert row.downloaded_count == 2 and row.last_downloaded_at == LATER


def test_every_failure_is_the_same_error(desk, stored, new_request):
    reference, receipt = stored
    other = new_request()
    failures = [
        (reference, "wrong-token"),
        (reference, ""),
        ("R-000000-NOPE00", receipt.token),
        (other, receipt.token),
    ]
    messages = set()
    for ref, token in failures:
        with pytest.raises(PackageNotAvailable) as failed:
            _open(desk, ref, token)
        messages.add(str(failed.value))
    with pytest.raises(PackageNotAvailable) as expired:
        _open(desk, reference, receipt.token, now=NOW + LIFETIME)
    messages.add(str(expired.value))
    with unit_of_work(desk) as session:
        assert revoke_package(session, desk, reference, actor="operator:sato", now=LATER)
    with pytest.raises(PackageNotAvailable) as revoked:
        _open(desk, reference, receipt.token)
    messages.add(str(revoked.value))
    assert messages == {"package not available"}


def test_router_serves_the_zip_and_404s_alike(desk, stored, new_request):
    reference, receipt = stored
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: desk
    client = TestClient(app)
    ok = client.get(f"/packages/{reference}", params={"token": receipt.token})
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/zip"
    assert ok.headers["content-disposition"] == f'attachment; filename="{reference}.zip"'
    assert ok.headers["cache-control"] == "no-store"
    zipfile.ZipFile(io.BytesIO(ok.content)).testzip()
    misses = [
        client.get(f"/packages/{reference}", params={"token": "nope"}),
        client.get(f"/packages/{reference}"),
        client.get("/packages/R-000000-NOPE00", params={"token": receipt.token}),
        client.get(f"/packages/{new_request()}", params={"token": receipt.token}),
    ]
    with unit_of_work(desk) as session:
        revoke_package(session, desk, reference, actor="operator:sato", now=LATER)
    misses.append(client.get(f"/packages/{reference}", params={"token": receipt.token}))
    assert {(r.status_code, r.text) for r in misses} == {(404, '{"detail":"Not Found"}')}


def test_expired_package_is_not_served_by_the_router(desk, new_request):
    reference = new_request()
    receipt = build_and_store(
        desk, reference, ALL_SYSTEMS, registry=build_registry(desk), now=NOW - LIFETIME * 100
    )
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: desk
    response = TestClient(app).get(f"/packages/{reference}", params={"token": receipt.token})
    assert response.status_code == 404


def test_building_twice_gives_one_package(desk, stored):
    reference, first = stored
    again = build_and_store(desk, reference, ALL_SYSTEMS, registry=build_registry(desk), now=LATER)
    assert not again.created and again.token is None and again.package_id == first.package_id
    assert len(_packages(desk, reference)) == 1
    assert _open(desk, reference, first.token)  # the link in the notice still works


def test_expired_or_revoked_package_is_replaced_never_two_live(desk, stored):
    reference, first = stored
    after_expiry = NOW + LIFETIME + timedelta(minutes=1)
    second = build_and_store(desk, reference, ALL_SYSTEMS, registry=build_registry(desk), now=after_expiry)
    assert second.created and second.package_id != first.package_id
    rows = _packages(desk, reference)
    assert [r.revoked for r in rows] == [True, False]
    assert not (desk.data_dir / rows[0].path).exists()  # the superseded file is gone
    with unit_of_work(desk) as session:
        revoke_package(session, desk, reference, actor="operator:sato", now=after_expiry)
    third = build_and_store(desk, reference, ALL_SYSTEMS, registry=build_registry(desk), now=after_expiry)
    assert third.created and sum(not r.revoked for r in _packages(desk, reference)) == 1
    assert _open(desk, reference, third.token, now=after_expiry)


def test_reissued_token_replaces_the_lost_one(desk, stored):
    reference, receipt = stored
    with unit_of_work(desk) as session:
        token = reissue_token(session, desk, reference, actor="lifecycle", now=LATER)
    with pytest.raises(PackageNotAvailable):
        _open(desk, reference, receipt.token)
    assert _open(desk, reference, token)


def test_tampered_file_is_an_integrity_error_not_a_404(desk, stored):
    reference, receipt = stored
    (row,) = _packages(desk, reference)
    path = desk.data_dir / row.path
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(PackageIntegrityError) as broken:
        _open(desk, reference, receipt.token)
    assert str(row.id) in str(broken.value) and reference not in str(broken.value)


def test_purge_removes_files_of_unavailable_packages(desk, stored):
    reference, _receipt = stored
    (row,) = _packages(desk, reference)
    purge_unavailable(desk, LATER)
    assert (desk.data_dir / row.path).exists()
    assert purge_unavailable(desk, NOW + LIFETIME) >= 1
    assert not (desk.data_dir / row.path).exists()


def test_purge_keeps_an_expired_package_until_its_decision_letter_is_posted(desk, stored):
    """Data going by post is printed from the package with the decision letter, however late."""
    reference, _receipt = stored
    (row,) = _packages(desk, reference)
    with unit_of_work(desk) as session:
        letter = Letter(
            request_id=row.request_id,
            kind="decision",
            idempotency_key=f"{reference}:decision:letter",
            context={"package_posted": True},
            created_at=NOW,
        )
        session.add(letter)
        session.flush()
        letter_id = letter.id
    purge_unavailable(desk, NOW + LIFETIME)
    assert (desk.data_dir / row.path).exists()
    with unit_of_work(desk) as session:
        assert printable_package(session, desk, reference).startswith(b"%PDF")
        session.get_one(Letter, letter_id).sent_at = NOW + LIFETIME
    assert purge_unavailable(desk, NOW + LIFETIME) >= 1
    assert not (desk.data_dir / row.path).exists()


def test_audit_trail_has_references_only(desk, stored):
    reference, receipt = stored
    _open(desk, reference, receipt.token)
    with unit_of_work(desk) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.subject_ref == reference)).all()
    assert [e.action for e in events] == ["package.created", "package.downloaded"]
    text = repr([(e.actor, e.details) for e in events])
    for secret in (EMAIL, NAME, PHONE, receipt.token):
        assert secret not in text


def test_the_database_refuses_a_second_unrevoked_package(desk, stored):
    """What keeps two racing builds from both leaving a live link behind."""
    reference, _ = stored
    (row,) = _packages(desk, reference)
    twin = DisclosurePackage(**row.model_dump(exclude={"id"}))
    with pytest.raises(IntegrityError), unit_of_work(desk) as session:
        session.add(twin)


def test_a_package_sealed_before_a_key_rotation_still_opens(desk, stored):
    from models.settings import Settings

    reference, receipt = stored
    desk.rotate_secret()
    try:
        rotated = Settings(data_dir=desk.data_dir)  # a process started after the rotation
        assert rotated.key_id != desk.key_id
        name, data = _open(rotated, reference, receipt.token)
        assert name == f"{reference}.zip" and zipfile.is_zipfile(io.BytesIO(data))
    finally:
        desk.keyring_path.unlink(missing_ok=True)  # the module's desk goes on with its given key alone
