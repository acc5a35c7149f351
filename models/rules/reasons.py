"""Reason codes as the requester reads them: legal basis and a plain-language message.

Art. 36 asks the company to endeavour to explain every decision not to act, or to act
differently; madoguchi always does (docs/rules.md §2). The words live in ``reason_codes.toml``
beside this module so that they can be reviewed without reading code.
"""

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from models.rules.vocabulary import ReasonCode, RequestType

LANGUAGES = ("ja", "en")


@dataclass(frozen=True)
class ReasonText:
    code: ReasonCode
    basis: str
    message: str


@cache
def _catalogue() -> dict:
    return tomllib.loads(files(__package__).joinpath("reason_codes.toml").read_text("utf-8"))


def reason_info(
    code: ReasonCode | str, lang: str = "ja", request_type: RequestType | None = None
) -> ReasonText:
    """The basis and message of ``code``; the basis may depend on the request type
    (a purpose notification is refused under Art. 32(2), not Art. 33(2))."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; expected one of {LANGUAGES}")
    code = ReasonCode(code)
    entry = _catalogue()[code.value]
    basis = entry[f"basis_{lang}"]
    if request_type is not None:
        basis = entry.get("basis_by_type", {}).get(RequestType(request_type).value, {}).get(lang, basis)
    return ReasonText(code=code, basis=basis, message=entry[f"message_{lang}"])


def reason_texts(
    codes: Iterable[ReasonCode | str], lang: str = "ja", request_type: RequestType | None = None
) -> tuple[ReasonText, ...]:
    """Texts for several codes, in the given order, each once (a notice lists them all)."""
    return tuple(reason_info(c, lang, request_type) for c in dict.fromkeys(ReasonCode(c) for c in codes))
