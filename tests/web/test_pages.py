"""The HTML side, in-process: the form in Japanese and English without JavaScript, CSRF on
every POST, the status page behind reference and token, and its actions."""

import re

from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of
from tests.web.support import request_of, row_counts
from web.app import create_app
from web.guards import CSRF_COOKIE

FORM = {
    "request_type": "disclosure",
    "principal_name": "山田 太郎",
    "principal_email": "taro@example.co.jp",
    "principal_phone": "03-1234-5678",
    "role": "principal",
    "delivery": "electronic",
    "scope": "注文履歴",
}


def submit_form(client, **changes):
    page = client.get("/")
    return client.post("/", data={**FORM, **changes, "csrf_token": csrf_of(page.text)})


def test_form_in_japanese_and_english_without_javascript(client):
    ja = client.get("/")
    assert ja.status_code == 200 and '<html lang="ja">' in ja.text and "個人情報の開示等のご請求" in ja.text
    assert "<script" not in ja.text.lower() and 'method="post" action="/"' in ja.text
    cookie = ja.headers["set-cookie"]
    assert (
        cookie.startswith(f"{CSRF_COOKIE}=")
        and "httponly" in cookie.lower()
        and "samesite=strict" in cookie.lower()
    )
    en = client.get("/?lang=en")
    assert '<html lang="en">' in en.text and "<script" not in en.text.lower()
    assert ja.headers["cache-control"] == "no-store" and ja.headers["x-frame-options"] == "DENY"


def test_form_without_csrf_is_refused_and_writes_nothing(client, web_settings):
    before = row_counts(web_settings)
    page = client.get("/")
    token = csrf_of(page.text)
    assert client.post("/", data={**FORM}).status_code == 403  # no token
    assert client.post("/", data={**FORM, "csrf_token": "forged"}).status_code == 403
    client.cookies.clear()
    refused = client.post("/", data={**FORM, "csrf_token": token})  # token without its cookie
    assert refused.status_code == 403 and "画面の有効期限が切れました" in refused.text
    assert client.post("/status", data={"reference": "R-000101-ZZZZZZ", "token": "x"}).status_code == 403
    assert row_counts(web_settings) == before


def test_non_ascii_csrf_token_or_cookie_is_refused_not_a_server_error(client, web_settings):
    """``hmac.compare_digest`` raises on a non-ASCII str: every form must still answer 403."""
    before = row_counts(web_settings)
    token = csrf_of(client.get("/").text)
    forms = {
        "/": FORM,
        "/status": {"reference": "R-000101-ZZZZZZ", "token": "x"},
        "/status/withdraw": {"reference": "R-000101-ZZZZZZ", "token": "x"},
        "/inquiry": {"kind": "inquiry", "name": "山田 太郎", "email": "taro@example.co.jp", "body": "質問"},
        "/opt-out": {"email": "taro@example.co.jp"},
    }
    for path, data in forms.items():
        assert client.post(path, data={**data, "csrf_token": "トークン" + token}).status_code == 403, path
        # the token's place taken by a file upload
        assert (
            client.post(
                path, data=data, files={"csrf_token": ("t", token.encode(), "text/plain")}
            ).status_code
            == 403
        ), path
    cookies = dict(client.cookies)
    client.cookies.clear()
    for path, data in forms.items():  # a non-ASCII cookie (sent as raw UTF-8 bytes)
        answer = client.post(
            path, data={**data, "csrf_token": "é"}, headers={"cookie": f"{CSRF_COOKIE}=é".encode()}
        )
        assert answer.status_code == 403, path
    client.cookies.update(cookies)
    assert row_counts(web_settings) == before


def test_english_errors_next_to_their_fields(client, web_settings):
    answer = submit_form(
        client, language="en", principal_email="not-an-address", principal_phone="phone?", delivery="postal"
    )
    assert answer.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', answer.text))
    assert set(errors) == {"principal_email", "principal_phone", "postal_address"}, errors
    assert all(re.fullmatch(r"[ -~]+", message) for message in errors.values())  # English
    assert 'value="not-an-address"' in answer.text and 'value="山田 太郎"' in answer.text


def test_what_the_lifecycle_could_never_process_is_shown_next_to_its_field(client, web_settings):
    before = row_counts(web_settings)
    for changes, field, message in [
        (
            {"request_type": "correction"},
            "correction_requested",
            "訂正等を求める項目と訂正後の内容を入力してください。",
        ),
        (
            {"delivery": "postal", "postal_address": "\u3000"},
            "postal_address",
            "郵送をご希望の場合は送付先住所を入力してください。",
        ),
        ({"role": "appointed_agent"}, "requester_name", None),
    ]:
        answer = submit_form(client, **changes)
        assert answer.status_code == 422, changes
        errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', answer.text))
        assert field in errors, (changes, errors)
        assert message is None or errors[field] == message, errors
    assert row_counts(web_settings) == before


def test_submitted_page_to_status_page_and_withdraw(client, web_settings):
    done = submit_form(client, include_third_party_records="on", ground_codes=["leak_occurred"])
    assert done.status_code == 200 and "ご請求を受け付けました" in done.text
    reference = re.search(r'id="reference">([^<]+)<', done.text).group(1)
    token = re.search(r'id="status-token">([^<]+)<', done.text).group(1)
    stored = request_of(web_settings, reference)
    assert stored.details["include_third_party_records"] and stored.details["ground_codes"] == [
        "leak_occurred"
    ]
    csrf = csrf_of(done.text)

    status = client.post("/status", data={"csrf_token": csrf, "reference": reference, "token": token})
    assert status.status_code == 200 and 'data-status="received"' in status.text and "受付済み" in status.text
    wrong = client.post("/status", data={"csrf_token": csrf, "reference": reference, "token": "nope"})
    unknown = client.post(
        "/status", data={"csrf_token": csrf, "reference": "R-000101-ZZZZZZ", "token": token}
    )
    assert wrong.status_code == unknown.status_code == 404
    assert (
        "受付番号または確認用トークンが正しくありません。" in wrong.text
        and "受付番号または確認用トークンが正しくありません。" in unknown.text
    )

    assert (
        client.post(
            "/status/delete-everything", data={"csrf_token": csrf, "reference": reference, "token": token}
        ).status_code
        == 403
    )
    withdrawn = client.post(
        "/status/withdraw", data={"csrf_token": csrf, "reference": reference, "token": token}
    )
    assert (
        'id="notice">ご請求を取り下げました。' in withdrawn.text
        and 'data-status="withdrawn"' in withdrawn.text
    )
    again = client.post("/status/withdraw", data={"csrf_token": csrf, "reference": reference, "token": token})
    assert (
        'id="notice">このご請求は既に終了しています。' in again.text and "/status/withdraw" not in again.text
    )
    clarify = client.post(
        "/status/clarification",
        data={"csrf_token": csrf, "reference": reference, "token": token, "text": "回答"},
    )
    assert "現在ご回答をお待ちしているご質問はありません。" in clarify.text


def test_links_in_mail_carry_the_reference_never_the_token(client):
    page = client.get("/requests/R-261201-ABCDEF/documents")
    assert page.status_code == 200 and 'value="R-261201-ABCDEF"' in page.text and 'name="token"' in page.text


def test_a_document_past_the_cap_is_refused_with_its_own_message(web_settings):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with TestClient(create_app(web_settings.model_copy(update={"max_documents_per_request": 1}))) as client:
        done = submit_form(client)
        reference = re.search(r'id="reference">([^<]+)<', done.text).group(1)
        token = re.search(r'id="status-token">([^<]+)<', done.text).group(1)
        form = {
            "csrf_token": csrf_of(done.text),
            "reference": reference,
            "token": token,
            "kind": "power_of_attorney",
        }
        first, second = (
            client.post("/status/documents", data=form, files={"file": ("p.png", png, "image/png")})
            for _ in range(2)
        )
    assert 'id="notice">書類を受け付けました。' in first.text
    assert 'id="notice">このご請求に提出できる書類の数の上限に達しているため' in second.text
