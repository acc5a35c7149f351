"""The privacy policy's pages: the version in force, any published version, a proposal not
shown, and the request form linking to them."""

from datetime import timedelta

from models.db import unit_of_work, utcnow
from models.policy import shipped
from models.rules.deadlines import jst_date
from models.rules.policy import NOTICE_LEAD_DAYS
from services import policy as service

V1 = shipped()[0].text
BILLING = "b)本サービスご利用代金のご請求のため。"


def test_the_version_in_force_and_the_published_ones_are_shown(client, web_settings):
    page = client.get("/policy")
    assert page.status_code == 200 and "第1版" in page.text and "2023-09-11から施行中" in page.text
    assert "お客様情報および個人情報の利用目的" in page.text

    with unit_of_work(web_settings) as session:
        version = service.propose(
            session,
            web_settings,
            V1.replace(BILLING, "b)ご請求と与信管理のため。"),
            actor="operator:sato",
            now=utcnow(),
        ).version
    assert client.get(f"/policy/{version}").status_code == 404  # not before the officer approved it
    in_force_on = jst_date(utcnow()) + timedelta(days=NOTICE_LEAD_DAYS)
    with unit_of_work(web_settings) as session:
        service.decide(
            session,
            web_settings,
            version,
            approve=True,
            in_force_on=in_force_on,
            actor="officer:tanaka",
            now=utcnow(),
        )
    upcoming = client.get(f"/policy/{version}?lang=en")
    assert upcoming.status_code == 200 and f"in force from {in_force_on}" in upcoming.text
    assert "ご請求と与信管理のため" in upcoming.text
    assert "第1版" in client.get("/policy").text  # still the one in force today
    assert client.get("/policy/99").status_code == 404
    assert client.get("/policy/x").status_code == 422


def test_the_request_form_links_to_the_policy(client):
    for lang in ("ja", "en"):
        assert f'href="/policy?lang={lang}"' in client.get(f"/?lang={lang}").text
