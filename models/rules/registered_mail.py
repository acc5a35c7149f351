"""Registered mail (書留, docs/rules.md §4): the postal identity route answers by registered mail
to the address on the identity document, so that its delivery, signed for, shows the principal
lives there. The help desk records the tracking number (お問い合わせ番号) Japan Post gives on
posting: 11 to 13 digits, printed in groups with hyphens."""

import re
import unicodedata

REGISTERED_KINDS = frozenset({"identity_confirmed"})  # the letters that go by registered mail


def tracking_number(text: str | None) -> str | None:
    """The tracking number as bare digits, or None when ``text`` is not one (full-width digits,
    spaces and hyphens are how people type it)."""
    digits = re.sub(r"[\s\-ー－]", "", unicodedata.normalize("NFKC", text or ""))
    return digits if re.fullmatch(r"\d{11,13}", digits) else None
