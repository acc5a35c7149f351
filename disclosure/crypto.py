"""Encryption at rest of package files and uploaded documents: AES-256-GCM, one key per file.

The key is derived from the secret key with HKDF and a random salt kept in the file's
header, so no two files share a key and the database holds no key material. The header also
names the secret's key id: after a rotation, files sealed under an older key still open. The
request reference is authenticated data: a file moved under another package fails to open.
"""

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from models.settings import Settings, UnknownKey

MAGIC = b"MDGPKG2\n"
_KID, _SALT, _NONCE = 8, 16, 12
_INFO = b"madoguchi/disclosure-package/v1"


class SealBroken(Exception):
    """The file is not one sealed with a key of ours for this reference."""


def _key(secret: str, salt: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO)
    return hkdf.derive(secret.encode("utf-8"))


def seal(settings: Settings, reference: str, plaintext: bytes) -> bytes:
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    sealed = AESGCM(_key(settings.secret, salt)).encrypt(nonce, plaintext, reference.encode())
    return MAGIC + settings.key_id.encode() + salt + nonce + sealed


def unseal(settings: Settings, reference: str, blob: bytes) -> bytes:
    if not blob.startswith(MAGIC):
        raise SealBroken("not a sealed package")
    header = len(MAGIC)
    kid = blob[header : header + _KID].decode(errors="replace")
    salt = blob[header + _KID : header + _KID + _SALT]
    nonce = blob[header + _KID + _SALT : header + _KID + _SALT + _NONCE]
    try:
        secret = settings.secret_for(kid)
        return AESGCM(_key(secret, salt)).decrypt(
            nonce, blob[header + _KID + _SALT + _NONCE :], reference.encode()
        )
    except UnknownKey:
        raise SealBroken(f"sealed with key {kid}, which is not in the keyring") from None
    except InvalidTag:
        raise SealBroken("authentication failed") from None
