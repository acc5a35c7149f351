import pytest

from models.rules.fees import (
    POSTAGE,
    FeeSchedule,
    PostageTable,
    fee_for,
    is_fee_bearing,
    postage_for,
    sheets_posted,
)
from models.rules.vocabulary import Delivery, RequestType


def test_art38_purpose_notification_costs_1000_yen():
    quote = fee_for(RequestType.PURPOSE_NOTIFICATION)
    assert (quote.amount_yen, quote.postage_yen, quote.total_yen, quote.payable) == (1000, 0, 1000, True)


def test_art38_disclosure_costs_1000_yen_third_party_records_included():
    assert fee_for(RequestType.DISCLOSURE).total_yen == 1000
    assert fee_for("disclosure", "electronic").total_yen == 1000


@pytest.mark.parametrize(
    "request_type",
    [
        RequestType.CORRECTION,
        RequestType.SUSPENSION,
        RequestType.ERASURE,
        RequestType.STOP_THIRD_PARTY_PROVISION,
    ],
)
@pytest.mark.parametrize("delivery", list(Delivery))
def test_art38_correction_suspension_erasure_stop_provision_are_free(request_type, delivery):
    quote = fee_for(request_type, delivery, postage_yen=500)
    assert quote.total_yen == 0 and not quote.payable
    assert not is_fee_bearing(request_type)


def test_art38_postal_delivery_adds_postage_at_cost():
    quote = fee_for(RequestType.DISCLOSURE, Delivery.POSTAL, postage_yen=580)
    assert (quote.amount_yen, quote.postage_yen, quote.total_yen) == (1000, 580, 1580)


def test_art38_postal_delivery_without_known_postage_uses_the_published_table():
    # the letter and one system: 4 sheets, 12 + 16 = 28 g: 定形外 50 g 140 + 簡易書留 350
    assert fee_for(RequestType.PURPOSE_NOTIFICATION, Delivery.POSTAL).total_yen == 1490
    # eight systems: 18 sheets, 84 g: 100 g 180 + 350
    assert fee_for(RequestType.DISCLOSURE, Delivery.POSTAL, disclosed_systems=8).postage_yen == 530
    cheap = PostageTable(0, 0, 10, 1, 1, ((100, 300),))
    assert (
        fee_for(RequestType.DISCLOSURE, Delivery.POSTAL, schedule=FeeSchedule(postage=cheap)).postage_yen
        == 300
    )


@pytest.mark.parametrize(
    ("sheets", "grams", "yen"),
    [
        (1, 16, 140 + 350),
        (9, 48, 140 + 350),  # the last sheet under 50 g
        (10, 52, 180 + 350),  # one more: the next band
        (22, 100, 180 + 350),  # exactly the band's weight
        (23, 104, 270 + 350),
        (34, 148, 270 + 350),
        (60, 252, 510 + 350),
        (247, 1000, 750 + 350),
    ],
)
def test_art38_postage_by_the_weight_of_the_sheets_registered(sheets, grams, yen):
    assert POSTAGE.envelope_grams + sheets * POSTAGE.sheet_grams == grams
    assert postage_for(sheets) == yen


def test_art38_postage_beyond_a_letter_or_of_nothing_is_refused():
    with pytest.raises(ValueError, match="parcel"):
        postage_for(248)
    with pytest.raises(ValueError):
        postage_for(0)


def test_art38_the_sheets_posted_are_the_letter_and_each_disclosed_systems_pages():
    assert [sheets_posted(n) for n in (0, 1, 8)] == [2, 4, 18]


@pytest.mark.parametrize(
    "bands", [(), ((0, 100),), ((50, -1),), ((100, 180), (50, 140))], ids=["none", "0g", "negative", "order"]
)
def test_a_postage_table_that_cannot_price_is_refused(bands):
    with pytest.raises(ValueError):
        PostageTable(350, 12, 4, 2, 2, bands)


@pytest.mark.parametrize("request_type", list(RequestType))
def test_contract_refused_requests_are_not_charged(request_type):
    assert fee_for(request_type, Delivery.POSTAL, refused=True, postage_yen=580).total_yen == 0


def test_fee_schedule_is_configurable():
    schedule = FeeSchedule(purpose_notification_yen=500, disclosure_yen=800)
    assert fee_for(RequestType.PURPOSE_NOTIFICATION, schedule=schedule).total_yen == 500
    assert fee_for(RequestType.DISCLOSURE, schedule=schedule).total_yen == 800


def test_negative_amounts_are_rejected():
    with pytest.raises(ValueError):
        FeeSchedule(disclosure_yen=-1)
    with pytest.raises(ValueError):
        fee_for(RequestType.DISCLOSURE, Delivery.POSTAL, postage_yen=-10)
