"""Fees for requests (Art. 38; docs/rules.md §3, docs/contract.md "Fees and deadlines").

Only purpose notification and disclosure (third-party provision records included) may carry a
fee; correction, suspension, erasure and stop of provision never do. Postage is charged at cost
when the requester chose paper by post; a refused request is not charged.
"""

from dataclasses import dataclass

from models.rules.vocabulary import Delivery, RequestType

FEE_BEARING = frozenset({RequestType.PURPOSE_NOTIFICATION, RequestType.DISCLOSURE})


@dataclass(frozen=True)
class FeeSchedule:
    """Published amounts in yen; "reasonable, considering actual cost" (Art. 38(2))."""

    purpose_notification_yen: int = 1_000
    disclosure_yen: int = 1_000
    # Estimate used until the real postage is known: a letter (110) sent as simple registered
    # mail (350), the 2024 Japan Post rates.
    postage_estimate_yen: int = 460

    def __post_init__(self) -> None:
        if min(self.purpose_notification_yen, self.disclosure_yen, self.postage_estimate_yen) < 0:
            raise ValueError("fee amounts cannot be negative")


@dataclass(frozen=True)
class FeeQuote:
    amount_yen: int
    postage_yen: int

    @property
    def total_yen(self) -> int:
        return self.amount_yen + self.postage_yen

    @property
    def payable(self) -> bool:
        return self.total_yen > 0


def is_fee_bearing(request_type: RequestType) -> bool:
    """Art. 38(1) allows a fee only for Art. 32(2) notification and Art. 33(1)/(5) disclosure."""
    return RequestType(request_type) in FEE_BEARING


def fee_for(
    request_type: RequestType,
    delivery: Delivery = Delivery.ELECTRONIC,
    *,
    refused: bool = False,
    postage_yen: int | None = None,
    schedule: FeeSchedule = FeeSchedule(),
) -> FeeQuote:
    """What the requester pays. ``postage_yen`` is the actual postage when known (at cost),
    else the schedule's estimate; postage is only charged on a fee-bearing type."""
    request_type = RequestType(request_type)
    if refused or not is_fee_bearing(request_type):
        return FeeQuote(amount_yen=0, postage_yen=0)
    amount = (
        schedule.purpose_notification_yen
        if request_type is RequestType.PURPOSE_NOTIFICATION
        else schedule.disclosure_yen
    )
    postage = 0
    if Delivery(delivery) is Delivery.POSTAL:
        postage = schedule.postage_estimate_yen if postage_yen is None else postage_yen
        if postage < 0:
            raise ValueError("postage cannot be negative")
    return FeeQuote(amount_yen=amount, postage_yen=postage)
