"""The disclosure package (docs/product.md §1 step 6): what each system holds about the subject,
for people (HTML, PDF) and programs (JSON, CSV), encrypted at rest, fetched with a token.

Plain functions, no Prefect: the lifecycle wraps :func:`build_and_store` in a task.
"""

from disclosure.build import Contents, gather
from disclosure.download import PackageIntegrityError, PackageNotAvailable, open_package, router
from disclosure.store import (
    LIFETIME,
    PackageReceipt,
    build_and_store,
    purge_unavailable,
    reissue_token,
    revoke_package,
)

__all__ = [
    "LIFETIME",
    "Contents",
    "PackageIntegrityError",
    "PackageNotAvailable",
    "PackageReceipt",
    "build_and_store",
    "gather",
    "open_package",
    "purge_unavailable",
    "reissue_token",
    "revoke_package",
    "router",
]
