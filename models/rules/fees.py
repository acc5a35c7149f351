"""Fees for requests (Art. 38; docs/rules.md §3, docs/contract.md "Fees and deadlines").

Only purpose notification and disclosure (third-party provision records included) may carry a
fee; correction, suspension, erasure and stop of provision never do. Postage is charged at cost
when the requester chose paper by post, by the weight of what is posted (the published table
``postage.toml``); a refused request is not charged.
"""

import tomllib
from dataclasses import dataclass
from importlib.resources import files

from models.rules.vocabulary import Delivery, RequestType

FEE_BEARING = frozenset({RequestType.PURPOSE_NOTIFICATION, RequestType.DISCLOSURE})


@dataclass(frozen=True)
class PostageTable:
    """Postage by weight (``postage.toml``): ``bands`` are (grams at most, yen), lightest first."""

    registered_yen: int
    envelope_grams: int
    sheet_grams: int
    letter_sheets: int
    sheets_per_system: int
    bands: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.bands or any(grams <= 0 or yen < 0 for grams, yen in self.bands):
            raise ValueError("postage bands need a positive weight and a non-negative price each")
        if list(self.bands) != sorted(self.bands):
            raise ValueError("postage bands must go from the lightest to the heaviest")

    @classmethod
    def published(cls) -> "PostageTable":
        table = tomllib.loads(files(__package__).joinpath("postage.toml").read_text("utf-8"))
        return cls(**{**table, "bands": tuple((int(g), int(y)) for g, y in table["bands"])})


POSTAGE = PostageTable.published()


def sheets_posted(disclosed_systems: int, table: PostageTable = POSTAGE) -> int:
    """The A4 sheets a postal disclosure is estimated at, before its package is built."""
    return table.letter_sheets + table.sheets_per_system * max(disclosed_systems, 0)


def postage_for(sheets: int, table: PostageTable = POSTAGE) -> int:
    """Registered postage of ``sheets`` A4 sheets in one envelope; ValueError when none, or
    heavier than the table's last band (a parcel, priced by hand)."""
    if sheets < 1:
        raise ValueError("nothing to post")
    grams = table.envelope_grams + sheets * table.sheet_grams
    for most, yen in table.bands:
        if grams <= most:
            return yen + table.registered_yen
    raise ValueError(f"{grams} g is heavier than a letter: a parcel, priced by hand")


@dataclass(frozen=True)
class FeeSchedule:
    """Published amounts in yen; "reasonable, considering actual cost" (Art. 38(2))."""

    purpose_notification_yen: int = 1_000
    disclosure_yen: int = 1_000
    postage: PostageTable = POSTAGE

    def __post_init__(self) -> None:
        if min(self.purpose_notification_yen, self.disclosure_yen) < 0:
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
    disclosed_systems: int = 1,
    schedule: FeeSchedule = FeeSchedule(),
) -> FeeQuote:
    """What the requester pays. ``postage_yen`` is the actual postage when known (at cost),
    else the schedule's table for the sheets of ``disclosed_systems`` (:func:`sheets_posted`);
    postage is only charged on a fee-bearing type."""
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
        if postage_yen is None:
            postage_yen = postage_for(sheets_posted(disclosed_systems, schedule.postage), schedule.postage)
        postage = postage_yen
        if postage < 0:
            raise ValueError("postage cannot be negative")
    return FeeQuote(amount_yen=amount, postage_yen=postage)
