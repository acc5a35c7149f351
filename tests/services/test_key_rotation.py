"""A key rotation loses nothing: what the old key wrote (documents, audit MACs, codes, unsubscribe
tokens) still opens and verifies, and new writes name the new key."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import app
from disclosure.crypto import SealBroken, unseal
from mail.optout import make_token, read_token
from models.audit import audit_key, load_chain, verify_chain, write_checkpoint
from models.db import unit_of_work
from models.requests import Document, IdentityCheck
from models.rules.one_time_code import Verdict
from models.settings import Settings, get_settings
from services import documents, identity
from services.common import load_request
from tests.services.conftest import PRINCIPAL, notices, submit
from tests.services.conftest import REVIEW_NOW as NOW

PDF = b"%PDF-1.4 identity document"


def _stored(settings, document_id: int) -> bytes:
    with unit_of_work(settings) as session:
        return Path(session.get(Document, document_id).stored_path).read_bytes()


def _code_hash(settings, reference: str) -> str:
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        return (
            session.exec(select(IdentityCheck).where(IdentityCheck.request_id == request.id)).one().code_hash
        )


def test_what_the_old_key_wrote_stays_readable_and_new_writes_use_the_new_key(desk):
    old, registry = desk
    reference = submit(old)
    with unit_of_work(old) as session:
        identity.start(session, old, reference, registry=registry, now=NOW)
        document = documents.receive(
            session,
            old,
            reference,
            kind="identity_document",
            content_type="application/pdf",
            data=PDF,
            now=NOW,
        )
    token = make_token(old, PRINCIPAL["email"])
    (code_notice,) = notices(old, "one_time_code")
    assert _code_hash(old, reference).startswith(f"{old.key_id}:")

    old.rotate_secret()
    new = Settings(data_dir=old.data_dir)  # no key given: the keyring's newest, as `up` starts it
    assert new.key_id != old.key_id and sorted(new.secrets()) == sorted(old.secrets())

    assert unseal(new, reference, _stored(new, document.document_id)) == PDF
    assert read_token(new, token) == PRINCIPAL["email"]
    assert make_token(new, PRINCIPAL["email"]).split(".")[1] == new.key_id
    with unit_of_work(new) as session:  # the code sent before the rotation still works
        assert (
            identity.submit_code(
                session, new, reference, code_notice.context["code"], now=NOW + timedelta(minutes=1)
            )
            is Verdict.VERIFIED
        )

    with unit_of_work(new) as session:  # a new upload is sealed with the new key
        later = documents.receive(
            session,
            new,
            reference,
            kind="identity_document",
            content_type="application/pdf",
            data=PDF,
            now=NOW,
        )
    assert new.key_id.encode() in _stored(new, later.document_id)[:16]
    # A process started before the rotation (its key given) reads it too: the keyring is reread.
    assert unseal(old, reference, _stored(old, later.document_id)) == PDF

    with unit_of_work(new) as session:
        events, head = load_chain(session)
        write_checkpoint(
            session, audit_key(new.secret_key.get_secret_value()), new.audit_checkpoint_path, NOW
        )
    assert {e.hash.partition(":")[0] for e in events} == {old.key_id, new.key_id, audit_key("k").id}
    assert verify_chain([audit_key(s) for s in [*new.secrets(), "k"]], events, head) == []


def test_a_value_naming_a_key_not_in_the_keyring_does_not_open(desk):
    settings, _ = desk
    reference = submit(settings)
    with unit_of_work(settings) as session:
        document = documents.receive(
            session,
            settings,
            reference,
            kind="identity_document",
            content_type="application/pdf",
            data=PDF,
            now=NOW,
        )
    stranger = Settings(data_dir=settings.data_dir / "elsewhere", secret_key="another key")
    with pytest.raises(SealBroken, match=f"key {settings.key_id}"):
        unseal(stranger, reference, _stored(settings, document.document_id))
    assert read_token(stranger, make_token(settings, PRINCIPAL["email"])) is None


def test_secret_rotate_and_audit_verify_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MADOGUCHI_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["secret", "rotate"])
        assert first.exit_code == 0, first.output
        get_settings.cache_clear()
        second = runner.invoke(app, ["secret", "rotate"])  # events under two keys now
        assert second.exit_code == 0, second.output
        get_settings.cache_clear()
        listed = runner.invoke(app, ["secret", "list"]).output.split()
        assert len(listed) == 4 and listed[-2:] == [get_settings().key_id, "(current)"]
        verified = runner.invoke(app, ["audit", "verify"])
        assert verified.exit_code == 0, verified.output
        assert "audit trail intact: 2 events" in verified.output
    finally:
        get_settings.cache_clear()
