import pytest

from models.rules.fees import FeeSchedule, fee_for, is_fee_bearing
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


def test_art38_postal_delivery_without_known_postage_uses_schedule_estimate():
    assert fee_for(RequestType.PURPOSE_NOTIFICATION, Delivery.POSTAL).total_yen == 1460
    schedule = FeeSchedule(postage_estimate_yen=300)
    assert fee_for(RequestType.DISCLOSURE, Delivery.POSTAL, schedule=schedule).postage_yen == 300


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
