"""Handing a package to whoever holds its link: the reference and the token from the notice.

Every failure a requester can cause (unknown reference, wrong token, expired, revoked) is
one :class:`PackageNotAvailable` and one 404, so the answer reveals nothing. A file that is
missing or fails authentication is the desk's problem, not the requester's: it raises
:class:`PackageIntegrityError` and the intake service answers 500.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import zipfile
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlalchemy import update
from sqlmodel import Session, col

from disclosure.crypto import SealBroken, unseal
from disclosure.store import PackageNotAvailable, audit_package, token_digest, unrevoked
from models.db import unit_of_work, utcnow
from models.packages import DisclosurePackage
from models.settings import Settings, get_settings

__all__ = ["PackageIntegrityError", "PackageNotAvailable", "open_package", "router"]

_NO_MATCH = "0" * 64


class PackageIntegrityError(RuntimeError):
    """A live package whose file is gone or does not decrypt (message: package id only)."""


def open_package(
    session: Session, settings: Settings, reference: str, token: str, now: datetime
) -> tuple[str, bytes]:
    """``(file name, zip bytes)`` for a valid token; counts the download in the audit trail.

    Runs in the caller's transaction: the count and the audit event commit with it.
    """
    digest = token_digest(token or "")
    package = unrevoked(session, reference)
    # compare even when there is no package, so that timing does not tell the cases apart
    matches = hmac.compare_digest(digest, package.token_hash if package else _NO_MATCH)
    if package is None or not matches or now >= package.expires_at:
        raise PackageNotAvailable()
    plaintext = _plaintext(settings, package)
    session.execute(
        update(DisclosurePackage)
        .where(col(DisclosurePackage.id) == package.id)
        .values(downloaded_count=DisclosurePackage.downloaded_count + 1, last_downloaded_at=now)
    )
    audit_package(session, settings, now, "package.downloaded", package, actor="requester")
    return f"{reference}.zip", plaintext


def _plaintext(settings: Settings, package: DisclosurePackage) -> bytes:
    """The package's zip, decrypted and checked against its digest."""
    try:
        blob = (settings.data_dir / package.path).read_bytes()
        plaintext = unseal(settings, package.reference, blob)
    except (OSError, SealBroken):
        raise PackageIntegrityError(f"package {package.id} cannot be opened") from None
    if hashlib.sha256(plaintext).hexdigest() != package.sha256:
        raise PackageIntegrityError(f"package {package.id} does not match its digest")
    return plaintext


def printable_package(session: Session, settings: Settings, reference: str) -> bytes | None:
    """The package's PDF, which the help desk prints and posts when the data goes by post
    (None: no package); the caller audits the printing."""
    package = unrevoked(session, reference)
    if package is None:
        return None
    with zipfile.ZipFile(io.BytesIO(_plaintext(settings, package))) as archive:
        return archive.read(next(name for name in archive.namelist() if name.endswith(".pdf")))


router = APIRouter(tags=["disclosure"])


@router.get(
    "/packages/{reference}",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the package"},
        404: {"description": "unknown, wrong token, expired or revoked alike"},
    },
)
def download_package(
    reference: str, token: str = Query(default=""), settings: Settings = Depends(get_settings)
) -> Response:
    """The package as a zip attachment; the link in the notice carries the token."""
    try:
        with unit_of_work(settings) as session:
            filename, data = open_package(session, settings, reference, token, utcnow())
    except PackageNotAvailable:
        raise HTTPException(status_code=404, detail="Not Found") from None
    return Response(
        content=data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )
