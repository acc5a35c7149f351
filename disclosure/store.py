"""Build a request's package once, keep it encrypted under ``data_dir/packages/``.

:func:`build_and_store` is what the lifecycle calls (wrapped in a task). It returns
references only, plus the raw download token of a newly created package: the token exists
nowhere else (the database keeps its SHA-256), so the caller puts it straight into the
notice and must not persist the return value as a Prefect result or log it. A re-run
finds the live package and returns it without a token; if the token was lost before the
notice went out, :func:`reissue_token` replaces it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, exists, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from disclosure.build import gather
from disclosure.crypto import seal
from disclosure.render import zip_package
from models.audit import audit_key, record
from models.db import non_null, row_id, unit_of_work, utcnow
from models.letters import Letter
from models.packages import DisclosurePackage
from models.requests import Request
from models.settings import Settings
from systems.registry import Registry

LIFETIME = timedelta(days=7)
FOLDER = "packages"
ACTOR = "system"


class PackageNotAvailable(LookupError):
    """No package for this reference and token: unknown, wrong token, expired or revoked
    alike, so that the answer tells an outsider nothing."""

    def __init__(self) -> None:
        super().__init__("package not available")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PackageReceipt:
    """What the caller learns about the package: references, expiry, sizes, and the token.

    ``token`` is set only when this call created the package (or reissued its token); it is
    left out of ``repr`` so that it does not end up in logs by accident.
    """

    package_id: int
    reference: str
    created: bool
    expires_at: datetime
    size_bytes: int  # the zip, before encryption
    stored_bytes: int  # the encrypted file
    token: str | None = field(default=None, repr=False)


def audit_package(
    session: Session,
    settings: Settings,
    now: datetime,
    action: str,
    package: DisclosurePackage,
    actor: str = ACTOR,
    **details,
) -> None:
    record(
        session,
        key=audit_key(settings.secret),
        at=now,
        actor=actor,
        action=action,
        subject_ref=package.reference,
        details={"package_id": package.id, **details},
    )


def unrevoked(session: Session, reference: str) -> DisclosurePackage | None:
    """The reference's package that is not revoked (at most one: a unique index)."""
    return session.exec(
        select(DisclosurePackage).where(
            DisclosurePackage.reference == reference,
            DisclosurePackage.revoked == False,  # noqa: E712
        )
    ).first()


def live_package(session: Session, reference: str, now: datetime) -> DisclosurePackage | None:
    package = unrevoked(session, reference)
    return package if package is not None and now < package.expires_at else None


def _receipt(
    settings: Settings, package: DisclosurePackage, *, created: bool, token: str | None = None
) -> PackageReceipt:
    path = settings.data_dir / package.path
    return PackageReceipt(
        package_id=row_id(package),
        reference=package.reference,
        created=created,
        expires_at=package.expires_at,
        size_bytes=package.size_bytes,
        stored_bytes=path.stat().st_size if path.exists() else 0,
        token=token,
    )


def _write(settings: Settings, blob: bytes) -> str:
    """A random file name (nothing about the subject), written whole or not at all."""
    relative = f"{FOLDER}/{secrets.token_hex(16)}.pkg"
    target = settings.data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, target)
    return relative


def _remove(settings: Settings, relative: str) -> None:
    (settings.data_dir / relative).unlink(missing_ok=True)


def build_and_store(
    settings: Settings,
    reference: str,
    include_systems: Collection[str],
    *,
    registry: Registry,
    now: datetime | None = None,
) -> PackageReceipt:
    """The request's live package, built, encrypted and stored if there is none yet.

    ``include_systems``: the system keys the decision discloses; the others are left out.
    Idempotent by request: while a package is live (not expired, not revoked) every call
    returns it (``created=False``, no token). An expired package is revoked and replaced.
    """
    now = now or utcnow()
    with unit_of_work(settings) as session:
        if (existing := live_package(session, reference, now)) is not None:
            return _receipt(settings, existing, created=False)

    plaintext = zip_package(gather(settings, reference, include_systems, now=now, registry=registry))
    relative = _write(settings, seal(settings, reference, plaintext))
    token = secrets.token_urlsafe(32)
    superseded: list[str] = []
    try:
        with unit_of_work(settings) as session:
            if (existing := live_package(session, reference, now)) is not None:
                _remove(settings, relative)  # a concurrent build won
                return _receipt(settings, existing, created=False)
            request_id = session.exec(
                select(non_null(Request.id)).where(Request.reference == reference)
            ).one()
            if (stale := unrevoked(session, reference)) is not None:
                stale.revoked = True
                superseded.append(stale.path)
                audit_package(session, settings, now, "package.superseded", stale)
                session.flush()  # free the unique index before the new row takes it
            package = DisclosurePackage(
                request_id=request_id,
                reference=reference,
                token_hash=token_digest(token),
                path=relative,
                size_bytes=len(plaintext),
                sha256=hashlib.sha256(plaintext).hexdigest(),
                created_at=now,
                expires_at=now + LIFETIME,
            )
            session.add(package)
            session.flush()
            audit_package(
                session,
                settings,
                now,
                "package.created",
                package,
                size_bytes=package.size_bytes,
                expires_at=package.expires_at.isoformat(timespec="seconds"),
            )
    except IntegrityError:  # a concurrent build committed between our check and insert
        _remove(settings, relative)
        with unit_of_work(settings) as session:
            if (existing := live_package(session, reference, now)) is None:
                raise
            return _receipt(settings, existing, created=False)
    except BaseException:
        _remove(settings, relative)
        raise
    for old in superseded:
        _remove(settings, old)
    return _receipt(settings, package, created=True, token=token)


def reissue_token(session: Session, settings: Settings, reference: str, *, actor: str, now: datetime) -> str:
    """A new token for the live package (the old one stops working); for a caller that lost
    the token before the notice carrying it went out."""
    package = live_package(session, reference, now)
    if package is None:
        raise PackageNotAvailable()
    token = secrets.token_urlsafe(32)
    package.token_hash = token_digest(token)
    session.add(package)
    audit_package(session, settings, now, "package.token_reissued", package, actor=actor)
    return token


def revoke_package(
    session: Session, settings: Settings, reference: str, *, actor: str, now: datetime
) -> bool:
    """Stop the reference's package from being downloaded; False if there was none."""
    package = unrevoked(session, reference)
    if package is None:
        return False
    package.revoked = True
    session.add(package)
    audit_package(session, settings, now, "package.revoked", package, actor=actor)
    return True


def purge_unavailable(settings: Settings, now: datetime) -> int:
    """Delete the files of expired and revoked packages (the rows stay, as evidence); an expired
    one the help desk is still to print and post with its decision letter is kept until then."""
    removed = 0
    to_post = exists().where(
        col(Letter.request_id) == col(DisclosurePackage.request_id),
        col(Letter.kind) == "decision",
        col(Letter.sent_at).is_(None),
    )
    with unit_of_work(settings) as session:
        rows = session.exec(
            select(DisclosurePackage).where(
                or_(col(DisclosurePackage.revoked), and_(col(DisclosurePackage.expires_at) <= now, ~to_post))
            )
        ).all()
    for package in rows:
        path: Path = settings.data_dir / package.path
        if path.exists():
            path.unlink()
            removed += 1
    return removed
