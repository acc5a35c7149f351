"""The Japanese request form in a real browser: Debian's Chromium, headless, driven by
Playwright against the intake service served by uvicorn on a free port.

A mistyped address comes back with its error next to the field, in Japanese, and nothing the
requester typed is lost; the corrected form is submitted, the reference and status token are
read off the page, the status page opens at 受付済み; the request then moves on the way the
lifecycle moves it (``services.identity.start`` sends the one-time code) and the page's
refresh button shows it waiting for the code; the code typed into the page verifies the
requester. Screenshots of each step are saved under test-artifacts/browser/ (their paths
are printed)."""

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from deployments.local import free_port
from tests.web.support import ask_for_code, example_systems, request_of, row_counts
from web import api
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: .ci/run installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture
def served(web_settings):
    """The intake app on a free loopback port (uvicorn in a thread); yields its base URL."""
    api.limiter.__init__()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(web_settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="intake-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def page(chromium, request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        try:
            context = browser.new_context(locale="ja-JP", viewport={"width": 900, "height": 1200})
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str, folder: Path = ARTIFACTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_japanese_form_to_a_moving_status_page(served, page, web_settings):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    page.goto(f"{served}/")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("h1").inner_text() == "個人情報の開示等のご請求"

    typed = {
        "#principal_name": "山田 太郎",
        "#principal_email": "taro@example",
        "#principal_phone": "03-1234-5678",
        "#principal_company": "株式会社サンプル",
        "#principal_login_id": "A1234567",
        "#scope": "2025年以降の注文履歴と配送の記録",
    }
    page.select_option("#request_type", "disclosure")
    for selector, value in typed.items():
        page.fill(selector, value)
    page.check("#include_third_party_records")
    before = row_counts(web_settings)
    page.click("#submit")

    # the error sits next to its field, in Japanese, and the rest is still there
    error = page.locator("#principal_email-error")
    error.wait_for()
    assert error.inner_text() == "メールアドレスの形式が正しくありません。"
    assert page.locator("#principal_email").get_attribute("aria-describedby") == "principal_email-error"
    assert (
        page.locator("#principal_email ~ #principal_email-error").count() == 1
    )  # same block, after the field
    assert JAPANESE.search(page.locator("[role=alert]").inner_text())
    for selector, value in typed.items():
        assert page.input_value(selector) == value, selector
    assert page.input_value("#request_type") == "disclosure"
    assert page.is_checked("#include_third_party_records")
    assert page.locator(".error").count() == 2  # the banner and the one field
    assert row_counts(web_settings) == before, "a rejected form wrote something"
    shot(page, "1-invalid-email")

    page.fill("#principal_email", "taro@example.co.jp")
    page.click("#submit")
    page.locator("#reference").wait_for()
    assert page.locator("h1").inner_text() == "ご請求を受け付けました"
    reference = page.inner_text("#reference").strip()
    token = page.inner_text("#status-token").strip()
    assert re.fullmatch(r"R-\d{6}-[A-Z0-9]{6}", reference), reference
    assert len(token) >= 24
    submitted = request_of(web_settings, reference)
    assert submitted.details["scope"] == typed["#scope"] and submitted.details["include_third_party_records"]
    shot(page, "2-submitted")

    page.click("#open-status")
    status = page.locator("#status")
    status.wait_for()
    assert page.inner_text("#reference") == reference
    assert (status.get_attribute("data-status"), status.inner_text()) == ("received", "受付済み")
    assert page.locator("#waiting-for").count() == 0
    shot(page, "3-status-received")

    # the lifecycle's identity step, as the flow run would take it
    with example_systems(web_settings) as registry:
        code = ask_for_code(web_settings, registry, reference)
    page.click("#refresh")
    page.wait_for_function("document.querySelector('#status').dataset.status !== 'received'")
    assert (status.get_attribute("data-status"), status.inner_text()) == (
        "awaiting_requester",
        "お客様のご対応待ち",
    )
    waiting = page.locator("#waiting-for")
    assert (waiting.get_attribute("data-waiting-for"), waiting.inner_text()) == (
        "one_time_code",
        "確認コードの入力",
    )
    assert "お客様のご対応待ち (確認コードの入力)" in page.inner_text("#timeline")
    shot(page, "4-status-waiting-for-code")

    page.fill("#code", code)
    page.click("form[action='/status/code'] button[type=submit]")
    page.locator("#notice").wait_for()
    assert page.inner_text("#notice") == "ご本人確認ができました。"
    assert status.get_attribute("data-status") == "identity_verification"
    assert status.inner_text() == "ご本人確認中"
    assert page.locator("#code").count() == 0
    shot(page, "5-code-verified")
    assert request_of(web_settings, reference).status == "identity_verification"
