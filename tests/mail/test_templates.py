import pytest

from mail.render import KINDS, render
from models.rules.reasons import reason_info
from models.rules.vocabulary import ReasonCode
from tests.mail.conftest import CONTEXTS

BASE = {"base_url": "http://intake.test", "unsubscribe_url": "http://intake.test/unsubscribe?token=t"}


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_text_and_html(kind, language):
    rendered = render(kind, language, {**BASE, **CONTEXTS[kind]})
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.strip() and rendered.html.startswith("<!DOCTYPE html>")
    assert f'lang="{language}"' in rendered.html


@pytest.mark.parametrize("language", ["ja", "en"])
def test_decision_lists_every_reason_with_basis_and_message(language):
    codes = [c.value for c in ReasonCode]
    context = {
        **BASE,
        "reference": "R-1",
        "request_type": "disclosure",
        "outcome": "refused",
        "reasons": codes,
    }
    rendered = render("decision", language, context)
    for code in codes:
        info = reason_info(code, language, "disclosure")
        assert info.message in rendered.text and info.basis in rendered.text
        assert info.basis in rendered.html


def test_html_is_autoescaped_and_text_is_not():
    context = {**BASE, **CONTEXTS["clarification_request"], "question": "<script>x</script> & co"}
    rendered = render("clarification_request", "en", context)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>x</script> & co" in rendered.text


@pytest.mark.parametrize(
    "language, words",
    [
        ("ja", ["送信者", "住所", "お問い合わせ", "配信停止"]),
        ("en", ["Sender", "Address", "Contact", "Unsubscribe"]),
    ],
)
def test_marketing_carries_the_legal_footer(language, words):
    rendered = render("marketing", language, {**BASE, **CONTEXTS["marketing"]})
    for body in (rendered.text, rendered.html):
        assert all(w.lower() in body.lower() for w in words)
        assert "unsubscribe?token=t" in body


def test_service_notices_say_they_go_to_opted_out_addresses_too():
    assert (
        "配信を停止されている方にも"
        in render("acknowledgement", "ja", {**BASE, **CONTEXTS["acknowledgement"]}).text
    )


def test_a_missing_context_key_fails_loudly():
    with pytest.raises(Exception, match="reference"):
        render("one_time_code", "ja", {**BASE, "code": "1", "expires_minutes": 5})


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "ja",
            ("保有個人データはございません", "対応できませんでした", "お客様情報（顧客マスタ）（電話番号）"),
        ),
        (
            "en",
            (
                "we hold no retained personal data here",
                "could not be carried out",
                "Customer record (phone number)",
            ),
        ),
    ],
)
def test_decision_items_say_not_held_not_carried_out_and_the_corrected_field(language, words):
    items = [
        {"system": "support", "outcome": "not_held", "reasons": ["no_retained_personal_data"]},
        {"system": "billing", "outcome": "not_carried_out", "reasons": []},
        {"system": "customers", "field": "phone", "outcome": "granted", "reasons": []},
    ]
    context = {**BASE, **CONTEXTS["decision"], "request_type": "correction", "items": items}
    rendered = render("decision", language, context)
    for text in (rendered.text, rendered.html):
        assert all(w in text for w in words), text


@pytest.mark.parametrize(
    "language, line",
    [
        ("ja", "・お客様情報（顧客マスタ）、ご注文・配送情報、メール配信リスト: ご請求のとおり対応しました"),
        ("en", "- Customer record; Orders and deliveries; Marketing email list: done as you asked"),
    ],
)
def test_decision_items_with_the_same_outcome_and_reasons_share_one_line(language, line):
    """Eight parts, three outcomes: each reason's paragraph appears once, after one line naming
    its systems, and the request's reasons do not repeat what the parts already say."""
    refused = {"outcome": "refused", "reasons": ["no_statutory_ground"]}
    items = [
        {"system": "customers", "outcome": "granted", "reasons": []},
        {"system": "orders", "outcome": "granted", "reasons": []},
        {"system": "billing", **refused},
        {"system": "marketing", "outcome": "granted"},
        {"system": "points", **refused},
        {"system": "support", **refused},
        {"system": "analytics", **refused},
        {"system": "delivery_contractor", "outcome": "refused", "reasons": ["alternative_measure"]},
    ]
    context = {
        **BASE,
        **CONTEXTS["decision"],
        "request_type": "suspension",
        "items": items,
        "reasons": ["no_statutory_ground", "alternative_measure"],
    }
    rendered = render("decision", language, context)
    ground = reason_info("no_statutory_ground", language, "suspension")
    assert line in rendered.text.splitlines()
    for text in (rendered.text, rendered.html):
        assert text.count(ground.message) == 1 and text.count(ground.basis) == 1
        assert text.count(reason_info("alternative_measure", language, "suspension").message) == 1
    assert rendered.html.count("<tr>") == 1 + 3  # the header, then one row per outcome and reasons
    sep = "、" if language == "ja" else "; "  # English labels have commas of their own
    labels = (
        ("お問い合わせ履歴・通話録音", "閲覧・購買・広告閲覧履歴")
        if language == "ja"
        else ("Support tickets and call recordings", "Browsing, purchase and ad-view history")
    )
    assert sep.join(labels) in rendered.text and sep.join(labels) in rendered.html


@pytest.mark.parametrize("language", ["ja", "en"])
def test_decision_reasons_no_part_gives_are_still_listed(language):
    items = [{"system": "orders", "outcome": "granted", "reasons": []}]
    context = {
        **BASE,
        **CONTEXTS["decision"],
        "items": items,
        "outcome": "refused",
        "reasons": ["identity_not_verified"],
    }
    rendered = render("decision", language, context)
    assert reason_info("identity_not_verified", language, "erasure").message in rendered.text
