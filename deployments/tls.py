"""One verified TLS context per CA bundle for Prefect's clients in a long-lived process.

Prefect builds ``ssl.create_default_context(cafile=certifi.where())`` for every client it
creates (``prefect.client.orchestration``), even for an ``http://`` API, and one flow run
creates four of them (the run's client context, the suspension observer, the result store's
look-up of the server's default storage...). Loading the CA bundle costs ~30 ms of CPU each
time: under ``madoguchi up`` that was 29 % of the worker's CPU (py-spy, bench/README.md). A
verified context is not changed once built, so one per CA file serves every client. Insecure
contexts (``PREFECT_API_TLS_INSECURE_SKIP_VERIFY``), which Prefect changes after creating
them, are still made fresh."""

import functools
import ssl
from typing import Any


class _SharedContexts:
    """The ``ssl`` module as Prefect's client module sees it, with verified contexts shared."""

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    @staticmethod
    @functools.cache
    def _verified(cafile: str) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=cafile)

    def create_default_context(
        self,
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: str | bytes | None = None,
    ) -> ssl.SSLContext:
        if purpose is ssl.Purpose.SERVER_AUTH and cafile and capath is None and cadata is None:
            return self._verified(cafile)
        return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)


def share_tls_contexts() -> None:
    """Call once at the start of a process that creates Prefect clients (worker, intake, ``up``)."""
    import prefect.client.orchestration as orchestration

    if not isinstance(orchestration.ssl, _SharedContexts):
        orchestration.ssl = _SharedContexts()  # type: ignore[assignment]  # a stand-in for the ssl module, the point of the patch
