"""Disclosure packages: one encrypted file per package, delivered through a time-limited link.

The row holds references and digests only: the raw download token is handed out once and
only its SHA-256 is kept; the file under ``data_dir`` is AES-GCM ciphertext
(``disclosure/store.py``).
"""

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from models.columns import timestamp


class DisclosurePackage(SQLModel, table=True):
    __tablename__ = "disclosure_package"
    # At most one package per request that is not revoked: two racing builds cannot both
    # leave a live link behind (an expired package is revoked when it is replaced).
    __table_args__ = (
        Index(
            "uq_disclosure_package_unrevoked",
            "request_id",
            unique=True,
            sqlite_where=text("revoked = 0"),
            postgresql_where=text("revoked = false"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    reference: str = Field(index=True, max_length=32)
    token_hash: str = Field(max_length=64, description="sha256 hex of the download token")
    path: str = Field(max_length=200, description="ciphertext file, relative to data_dir")
    size_bytes: int = Field(description="plaintext zip size")
    sha256: str = Field(max_length=64, description="sha256 hex of the plaintext zip")
    created_at: datetime = timestamp()
    expires_at: datetime = timestamp(index=True)
    downloaded_count: int = 0
    last_downloaded_at: datetime | None = timestamp(nullable=True)
    revoked: bool = False
