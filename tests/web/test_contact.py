"""The inquiry and opt-out forms: what the JSON endpoints do, for people in a browser."""

from sqlmodel import select

from mail.optout import is_opted_out
from models.db import unit_of_work
from models.ledgers import ConsentEvent, Inquiry
from tests.web.conftest import csrf_of
from tests.web.support import row_counts

INQUIRY = {
    "kind": "complaint",
    "name": "山田 太郎",
    "email": "taro@example.co.jp",
    "body": "配信停止後もメールが届きます。",
}


def _written(settings) -> dict[str, int]:
    with unit_of_work(settings) as session:
        return {
            **row_counts(settings),
            "inquiries": len(session.exec(select(Inquiry)).all()),
            "consents": len(session.exec(select(ConsentEvent)).all()),
        }


def _post(client, path: str, data: dict, lang: str = "ja"):
    page = client.get(f"{path}?lang={lang}")
    assert page.status_code == 200
    return client.post(path, data={**data, "language": lang, "csrf_token": csrf_of(page.text)})


def test_an_inquiry_from_the_form_opens_a_ticket(client, web_settings):
    done = _post(client, "/inquiry", INQUIRY)
    assert done.status_code == 200 and "お問い合わせを受け付けました" in done.text
    with unit_of_work(web_settings) as session:
        [ticket] = session.exec(select(Inquiry)).all()
    assert (ticket.kind, ticket.email, ticket.status) == ("complaint", "taro@example.co.jp", "open")
    assert ticket.reference in done.text


def test_a_bad_inquiry_shows_its_errors_and_writes_nothing(client, web_settings):
    before = _written(web_settings)
    bad = _post(
        client,
        "/inquiry",
        {**INQUIRY, "email": "not-an-address", "body": "", "request_reference": "R-1"},
        lang="en",
    )
    assert bad.status_code == 422
    for field, message in (
        ("email", "Please enter a valid email address."),
        ("body", "Please fill this in."),
        ("request_reference", "A reference looks like R-YYMMDD-XXXXXX."),
    ):
        assert f'<p class="error" id="{field}-error">{message}</p>' in bad.text
    assert 'value="not-an-address"' in bad.text  # nothing the user typed is lost
    assert _written(web_settings) == before


def test_the_opt_out_form_records_the_opt_out_and_says_the_same_for_any_address(client, web_settings):
    known = _post(client, "/opt-out", {"email": "Taro@Example.co.jp"})
    unknown = _post(client, "/opt-out", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert "配信停止を受け付けました" in known.text and "配信停止を受け付けました" in unknown.text
    with unit_of_work(web_settings) as session:
        assert is_opted_out(session, "taro@example.co.jp")


def test_contact_forms_without_csrf_are_refused(client, web_settings):
    before = _written(web_settings)
    assert client.post("/inquiry", data={**INQUIRY, "csrf_token": "forged"}).status_code == 403
    assert client.post("/opt-out", data={"email": "a@example.com"}).status_code == 403
    assert _written(web_settings) == before
