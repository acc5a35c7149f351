"""The help desk's entry page in a real browser (issue 15): Debian's Chromium, headless, driven
by Playwright against the gate served by uvicorn, logged in as an operator (HTTP basic). A
letter that arrived two days ago, to be answered on paper: the missing address comes back
next to its field in Japanese with nothing lost and nothing written; with it, the reference is
shown, the letter waits on the letters page and leaves it once marked sent. Screenshots under
test-artifacts/browser-desk/."""

import shutil
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from sqlmodel import select

from deployments.local import free_port
from models.db import unit_of_work, utcnow
from models.letters import Letter
from models.requests import Request
from models.rules.access import AccountRole
from models.rules.deadlines import jst_date
from models.schema import upgrade
from models.settings import Settings
from services import accounts
from tests.web.test_browser import ARTIFACTS, chromium, shot  # noqa: F401 - chromium is a fixture
from web.gate import create_gate

pytestmark = pytest.mark.browser

FOLDER = ARTIFACTS.parent / "browser-desk"
PASSWORD = "operator password 1"


@pytest.fixture
def served(tmp_path):
    """The gate on a free loopback port, its upstream nowhere; yields (base URL, settings)."""
    settings = Settings(data_dir=tmp_path, secret_key="desk-browser-test")
    upgrade(settings)
    with unit_of_work(settings) as session:
        accounts.add(
            session,
            settings,
            "sato",
            AccountRole.OPERATOR,
            PASSWORD,
            actor="test",
            now=datetime(2026, 12, 1, tzinfo=UTC),
        )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_gate("http://127.0.0.1:9", settings=settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="gate-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def page(chromium):  # noqa: F811 - the fixture imported above
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            context = browser.new_context(
                locale="ja-JP",
                viewport={"width": 900, "height": 1200},
                http_credentials={"username": "sato", "password": PASSWORD},
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def test_a_letter_entered_by_the_help_desk_in_the_browser(served, page):
    base, settings = served
    shutil.rmtree(FOLDER, ignore_errors=True)
    arrived = (jst_date(utcnow()) - timedelta(days=2)).isoformat()
    page.goto(f"{base}/desk/requests/new")
    assert page.locator("h1").inner_text() == "請求の受付入力"
    assert "operator:sato" in page.locator("header").inner_text()
    page.select_option("#channel", "post")
    page.fill("#received_on", arrived)
    page.check("#acknowledgement_letter")
    page.select_option("#request_type", "disclosure")
    page.fill("#principal_name", "山田 太郎")
    page.fill("#principal_email", "taro@example.co.jp")
    page.click("#submit")

    error = page.locator("#postal_address-error")
    error.wait_for()
    assert error.inner_text() == "書面で受付通知を送る場合は郵送先住所を入力してください。"
    assert page.input_value("#principal_name") == "山田 太郎" and page.input_value("#received_on") == arrived
    assert page.is_checked("#acknowledgement_letter") and page.input_value("#channel") == "post"
    with unit_of_work(settings) as session:
        assert session.exec(select(Request)).all() == []
    shot(page, "1-letter-needs-an-address", FOLDER)

    page.fill("#postal_address", "〒150-0001 東京都渋谷区神宮前1-2-3")
    page.click("#submit")
    page.locator("#reference").wait_for()
    reference = page.inner_text("#reference").strip()
    assert reference.startswith(f"R-{arrived[2:4]}{arrived[5:7]}{arrived[8:10]}-")
    assert page.locator("#letter").get_attribute("href").endswith(".pdf")
    shot(page, "2-entered", FOLDER)

    page.goto(f"{base}/desk/letters")
    assert reference in page.locator("table").inner_text()
    shot(page, "3-letters-to-print", FOLDER)
    page.click("button:has-text('郵送済み')")
    page.locator("text=印刷待ちの書面はありません。").wait_for()
    with unit_of_work(settings) as session:
        (letter,) = session.exec(select(Letter)).all()
    assert letter.sent_by == "operator:sato"
    shot(page, "4-letter-posted", FOLDER)
