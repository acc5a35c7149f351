import pytest

from models.rules.reasons import LANGUAGES, reason_info, reason_texts
from models.rules.vocabulary import ReasonCode, RequestType


@pytest.mark.parametrize("code", list(ReasonCode))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_art36_every_reason_code_has_basis_and_message_in_both_languages(code, lang):
    text = reason_info(code, lang)
    assert text.code is code
    assert text.basis.strip() and text.message.strip()


@pytest.mark.parametrize("code", list(ReasonCode))
def test_art36_japanese_and_english_texts_differ_and_japanese_is_japanese(code):
    ja, en = reason_info(code, "ja"), reason_info(code, "en")
    assert ja.message != en.message
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in ja.message)
    assert en.message.isascii()


@pytest.mark.parametrize(
    ("code", "ja", "en"),
    [
        (ReasonCode.HARM_TO_LIFE_OR_PROPERTY, "個人情報保護法第33条第2項第1号", "APPI Art. 33(2)(i)"),
        (ReasonCode.BUSINESS_INTERFERENCE, "個人情報保護法第33条第2項第2号", "APPI Art. 33(2)(ii)"),
        (ReasonCode.OTHER_LAW_VIOLATION, "個人情報保護法第33条第2項第3号", "APPI Art. 33(2)(iii)"),
        (ReasonCode.UNPAID_FEE, "個人情報保護法第38条", "APPI Art. 38"),
        (ReasonCode.CLARIFICATION_NOT_RECEIVED, "個人情報保護法第37条第2項", "APPI Art. 37(2)"),
    ],
)
def test_contract_reason_code_bases(code, ja, en):
    assert reason_info(code, "ja").basis == ja
    assert reason_info(code, "en").basis == en


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        (ReasonCode.AGENT_AUTHORITY_NOT_SHOWN, "Cabinet Order Art. 13"),
        (ReasonCode.NO_RETAINED_PERSONAL_DATA, "Cabinet Order Art. 5"),
        (ReasonCode.NO_RETAINED_PERSONAL_DATA, "Art. 16(4)"),
        (ReasonCode.OTHER_LAW_PROCEDURE, "Art. 33(4)"),
        (ReasonCode.CONTENT_ACCURATE, "Art. 34(1)"),
        (ReasonCode.NO_STATUTORY_GROUND, "Art. 35(1), (3), (5)"),
        (ReasonCode.ALTERNATIVE_MEASURE, "Art. 35(2), (4), (6)"),
        (ReasonCode.LEGAL_RETENTION_DUTY, "Art. 35(2) proviso"),
        (ReasonCode.IDENTITY_NOT_VERIFIED, "Art. 37"),
    ],
)
def test_contract_reason_code_basis_mentions_article(code, fragment):
    assert fragment in reason_info(code, "en").basis


def test_art32_2_purpose_notification_refusal_cites_art32_not_art33():
    text = reason_info(ReasonCode.HARM_TO_LIFE_OR_PROPERTY, "ja", RequestType.PURPOSE_NOTIFICATION)
    assert text.basis == "個人情報保護法第32条第2項第2号、第21条第4項第1号"
    en = reason_info("business_interference", "en", "purpose_notification")
    assert en.basis == "APPI Art. 32(2)(ii) with Art. 21(4)(ii)"
    # other types keep the general basis
    assert (
        reason_info(ReasonCode.HARM_TO_LIFE_OR_PROPERTY, "en", RequestType.DISCLOSURE).basis
        == "APPI Art. 33(2)(i)"
    )


def test_reason_texts_keep_order_and_drop_duplicates():
    texts = reason_texts(
        ["legal_retention_duty", ReasonCode.NO_STATUTORY_GROUND, "legal_retention_duty"], "en"
    )
    assert [t.code for t in texts] == [ReasonCode.LEGAL_RETENTION_DUTY, ReasonCode.NO_STATUTORY_GROUND]


def test_unknown_language_or_code_is_an_error():
    with pytest.raises(ValueError):
        reason_info(ReasonCode.UNPAID_FEE, "fr")
    with pytest.raises(ValueError):
        reason_info("escaping_billing", "en")


def test_catalogue_holds_exactly_the_contract_codes():
    from models.rules.reasons import _catalogue

    assert set(_catalogue()) == {c.value for c in ReasonCode}
