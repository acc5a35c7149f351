"""Who decides, where people decide: the Prefect UI behind madoguchi's login gate.

`madoguchi up` on free ports with an operator and the privacy officer added as an
administrator adds them; a request submitted over the intake API and its one-time code (read
from the SendGrid stub) entered. Then headless Chromium:

1. without credentials, the UI answers 401 with the basic-auth challenge (the browser asks);
2. the operator logs in, opens the Suspended run, clicks Resume: the review form is in
   Japanese with the pre-screen above it, nothing chosen and no name to type; submitting it
   empty is refused in the dialog. The operator refuses one item (with a reason) and takes
   the proposal for the others;
3. the same operator opens the privacy officer's sign-off on the same run: the gate refuses
   the Resume (403), and the run stays Suspended on the officer's form;
4. the officer logs in and signs off; the fee is then confirmed from the command line as the
   operator, and the request completes;
5. the audit trail names both people as they logged in.

Screenshots are saved under test-artifacts/prefect-ui/ and their paths printed."""

import re
import shutil
import time

import httpx
import pytest

from flows.forms import words
from models.audit import trail_of
from models.db import unit_of_work
from services.review import undecided
from tests.deployments.up import PROJECT, Up
from tests.web.test_browser import ARGS, chromium, shot  # noqa: F401  (the fixture: skip without Chromium, fail in CI)

pytestmark = [pytest.mark.deployment, pytest.mark.browser]

ARTIFACTS = PROJECT / "test-artifacts" / "prefect-ui"
REFUSED_REASON = "business_interference"


def test_the_operator_decides_and_only_the_officer_signs_off_in_the_prefect_ui(tmp_path, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    started = time.monotonic()
    labels = words()["choices"]
    with Up(tmp_path, "ui-resume-test") as up:
        operator = up.add_account("ui-sato", "operator")
        officer = up.add_account("ui-yamada", "officer")
        reference, bearer, run_id = up.submit_and_verify()
        run_page = f"{up.ui}/runs/flow-run/{run_id}"

        def request():
            return up.request(reference)

        with up.client():
            up.suspended_with(run_id, "suspended-operator-review")
            assert request().status == "review"
            assert httpx.get(f"{up.ui}/api/flow_runs/{run_id}").status_code == 401  # the API as well

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=ARGS)

                def logged_in(name: str, password: str):
                    page = browser.new_context(
                        http_credentials={"username": name, "password": password},
                        viewport={"width": 1400, "height": 1000},
                    ).new_page()
                    page.set_default_timeout(20_000)
                    return page

                def resume_dialog(page):
                    page.goto(run_page)
                    expect(page.get_by_text("Suspended").first).to_be_visible()
                    page.get_by_role("button", name="Resume").click()
                    dialog = page.get_by_role("dialog")
                    expect(dialog.get_by_text("Resume Flow Run")).to_be_visible()
                    return dialog

                def field(page, dialog, label: str):
                    return dialog.locator(".schema-form-property").filter(
                        has=page.locator(".schema-form-property__label", has_text=re.compile(rf"^{label}"))
                    )

                def choose(page, dialog, label: str, option: str):  # the choices are listed by their labels
                    select = field(page, dialog, re.escape(label))
                    select.locator(".p-select-button__control").focus()
                    page.keyboard.press("Space")  # headless: a click does not open the dropdown
                    page.get_by_role("option", name=option, exact=True).click()
                    expect(select.locator(".p-select-button__value")).to_have_text(option)

                try:
                    # 1. nobody gets in without an account: the browser is asked for one
                    anonymous = browser.new_context().new_page()
                    answers = []
                    anonymous.on(
                        "response", lambda r: answers.append((r.status, r.headers.get("www-authenticate")))
                    )
                    with pytest.raises(Exception, match="ERR_INVALID_AUTH_CREDENTIALS"):
                        anonymous.goto(run_page)
                    assert answers and answers[0][0] == 401 and answers[0][1].startswith("Basic"), answers

                    # 2. the operator reviews
                    page = logged_in(*operator)
                    dialog = resume_dialog(page)
                    expect(dialog.get_by_text(reference).first).to_be_visible()
                    expect(dialog.get_by_text("担当者の判断待ち").first).to_be_visible()
                    expect(dialog.get_by_role("cell", name="顧客マスタ")).to_be_visible()
                    expect(dialog.locator("textarea")).to_have_count(
                        1
                    )  # the clarification note; no name to type
                    expect(
                        field(page, dialog, "customers：判断").locator(".p-select-button__value")
                    ).to_have_text("")
                    dialog.get_by_role("button", name="Submit").click()  # empty: refused in the dialog
                    expect(dialog.get_by_text(re.compile("required", re.I)).first).to_be_visible()
                    shot(page, "1-refused-empty", ARTIFACTS)
                    assert request().status == "review"

                    with unit_of_work(up.settings) as session:
                        pending = undecided(session, reference)
                    refused = pending[0]["item_key"]
                    for item in pending:
                        if item["item_key"] == refused:
                            choose(page, dialog, f"{refused}：判断", labels["item_action"]["refuse"])
                            choose(page, dialog, f"{refused}：理由", labels["reason"][REFUSED_REASON])
                            continue
                        choose(
                            page,
                            dialog,
                            f"{item['item_key']}：判断",
                            labels["item_action"][item["proposed_action"]],
                        )
                        for code in item["proposed_reasons"][:1]:
                            choose(page, dialog, f"{item['item_key']}：理由", labels["reason"][code])
                    shot(page, "2-review-form", ARTIFACTS)
                    dialog.get_by_role("button", name="Submit").click()
                    expect(dialog).to_be_hidden()
                    assert up.suspended_with(run_id, "suspended-officer-approval")

                    # 3. the operator cannot sign off in the officer's place
                    dialog = resume_dialog(page)
                    expect(dialog.get_by_text("個人情報保護管理責任者の判断待ち").first).to_be_visible()
                    with page.expect_response(lambda r: r.url.endswith("/resume")) as refusal:
                        choose(page, dialog, "判断", labels["approval"]["approve"])
                        dialog.get_by_role("button", name="Submit").click()
                    assert refusal.value.status == 403, refusal.value.text()
                    shot(page, "3-operator-refused-as-officer", ARTIFACTS)
                    time.sleep(2)
                    assert up.suspended_with(
                        run_id, "suspended-officer-approval"
                    )  # still waiting for the officer

                    # 4. the officer signs off
                    page = logged_in(*officer)
                    dialog = resume_dialog(page)
                    choose(page, dialog, "判断", labels["approval"]["approve"])
                    shot(page, "4-officer-signs-off", ARTIFACTS)
                    dialog.get_by_role("button", name="Submit").click()
                    expect(dialog).to_be_hidden()
                    up.until(
                        lambda: request().waiting_for == "payment", "the fee wait after the sign-off", 45
                    )
                finally:
                    browser.close()

            assert "answered by ui-sato" in up.cli("operator", "payment", reference, as_=operator)
            up.until(lambda: request().status == "completed", "completion", 45)

        with unit_of_work(up.settings) as session:
            actors = {(event.actor, event.action) for event in trail_of(session, reference)}
        people = {actor for actor, _ in actors}
        assert {"operator:ui-sato", "officer:ui-yamada"} <= people, actors
        assert not {a for a in people if a.startswith(("operator:", "officer:"))} - {
            "operator:ui-sato",
            "officer:ui-yamada",
        }, people  # nobody else, nothing typed
        status = httpx.get(f"{up.intake}/api/requests/{reference}", headers=bearer).json()
        assert status["status"] == "completed" and status["outcome"] == "partially_granted", status
    assert up.proc.returncode == 0, up.log()
    assert not up.left_behind(), "up left processes behind"
    print(f"\nUI walk {reference}: whole test {time.monotonic() - started:.1f} s")
