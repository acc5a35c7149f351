"""Encryption at rest of package files: AES-256-GCM, one key per package.

The key is derived from ``secret_key`` with HKDF and a random salt kept in the file's
header, so no two packages share a key and the database holds no key material. The
request reference is authenticated data: a file moved under another package fails to open.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.settings import Settings

MAGIC = b"MDGPKG1\n"
_SALT, _NONCE = 16, 12
_INFO = b"madoguchi/disclosure-package/v1"


class SealBroken(Exception):
    """The file is not a package sealed with this secret key for this reference."""


def _key(settings: Settings, salt: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO)
    return hkdf.derive(settings.secret_key.get_secret_value().encode("utf-8"))


def seal(settings: Settings, reference: str, plaintext: bytes) -> bytes:
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    sealed = AESGCM(_key(settings, salt)).encrypt(nonce, plaintext, reference.encode())
    return MAGIC + salt + nonce + sealed


def unseal(settings: Settings, reference: str, blob: bytes) -> bytes:
    if not blob.startswith(MAGIC):
        raise SealBroken("not a sealed package")
    header = len(MAGIC)
    salt = blob[header:header + _SALT]
    nonce = blob[header + _SALT:header + _SALT + _NONCE]
    try:
        return AESGCM(_key(settings, salt)).decrypt(
            nonce, blob[header + _SALT + _NONCE:], reference.encode())
    except InvalidTag:
        raise SealBroken("authentication failed") from None
