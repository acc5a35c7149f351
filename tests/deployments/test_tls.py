"""Prefect's clients in a long-lived process share one verified TLS context per CA file
(deployments/tls.py) instead of loading the CA bundle for each client."""

import ssl

import prefect.client.orchestration as orchestration
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from deployments.tls import share_tls_contexts


def _context(client) -> ssl.SSLContext:
    return client._client._transport._pool._ssl_context  # httpx → httpcore's pool


def test_clients_share_one_verified_context_once_shared(monkeypatch):
    monkeypatch.setattr(orchestration, "ssl", ssl)  # stock Prefect first, whatever ran before
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert _context(get_client(sync_client=True)) is not _context(get_client(sync_client=True))
        share_tls_contexts()
        share_tls_contexts()  # twice is once
        first, second, async_client = get_client(sync_client=True), get_client(sync_client=True), get_client()
        assert _context(first) is _context(second) is _context(async_client)
        assert _context(first).verify_mode is ssl.CERT_REQUIRED and _context(first).check_hostname


def test_an_insecure_context_is_still_made_fresh(monkeypatch):
    monkeypatch.setattr(orchestration, "ssl", ssl)
    share_tls_contexts()
    shared = orchestration.ssl
    insecure = shared.create_default_context()
    insecure.check_hostname = False  # what Prefect does with it under TLS_INSECURE_SKIP_VERIFY
    assert shared.create_default_context() is not insecure
    assert shared.create_default_context().check_hostname
