"""What a disclosure package says: gathered from the request, the systems and the ledger.

:class:`Contents` is personal data. It lives in the building process only; what leaves it
is the encrypted package (``store.py``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from models.db import unit_of_work, utcnow
from models.ledgers import ProvisionRecord
from models.policy import version_in_force
from models.rules.provision import is_disclosable_record
from models.rules.vocabulary import Origin, ProvisionBasis, RequestType
from models.settings import Settings
from services.common import load_request, principal_of, subject_of
from systems.identity import expand_identity, normalise_email
from systems.registry import Registry

_HIDDEN = ("origin",)  # internal provenance flag, not content about the subject
PACKAGE_TYPES = frozenset({RequestType.DISCLOSURE, RequestType.PURPOSE_NOTIFICATION})


@cache
def data_file(name: str) -> dict[str, Any]:
    """A TOML file beside this module: the package's words live there, not in code."""
    return tomllib.loads(files(__package__).joinpath(name).read_text("utf-8"))


def texts(language: str) -> dict[str, Any]:
    """The package's words in ``language``, with ``items`` naming provision data items."""
    data = data_file("texts.toml")
    return {**data[language], "items": data["items"][language]}


def purposes_for(system_key: str, language: str) -> tuple[tuple[str, str], ...]:
    """``(code, text)`` of each policy purpose (Ⅰ.2.1 a–g) that applies to the system's data."""
    data = data_file("purposes.toml")
    try:
        codes = data["systems"][system_key]
    except KeyError:
        raise KeyError(f"purposes.toml lists no purposes for system {system_key!r}") from None
    return tuple((code, data["purposes"][code][language]) for code in codes)


def analysis_note(language: str) -> str:
    return data_file("purposes.toml")["analysis_note"][language]


def display_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def visible_fields(record: dict[str, Any]) -> list[tuple[str, str]]:
    """A record's fields and values as text, without the grouping keys and internal flags."""
    return [(k, display_value(v)) for k, v in record.items() if not k.startswith("_") and k not in _HIDDEN]


def display_fields(record: dict[str, Any], language: str) -> list[tuple[str, str]]:
    """As :func:`visible_fields`, with each field named as people read it."""
    labels = data_file("fields.toml")[language]
    return [(labels.get(k, k), v) for k, v in visible_fields(record)]


@dataclass(frozen=True)
class SystemSection:
    key: str
    name: str
    categories: tuple[tuple[str, str], ...]  # (key, name) of the kinds held about the subject
    records: tuple[dict[str, Any], ...] = ()  # as exported; empty for a purpose notification
    purposes: tuple[tuple[str, str], ...] = ()  # (code, text); purpose notification only


@dataclass(frozen=True)
class ProvisionEntry:
    """The items Rules Art. 20 requires in a provision record, and nothing more."""

    consent: bool
    recipient: str
    principal: str
    data_items: tuple[str, ...]


@dataclass(frozen=True)
class Contents:
    reference: str
    request_type: RequestType
    language: str
    generated_at: datetime  # in the service's time zone: the date the requester reads
    systems: tuple[SystemSection, ...]
    provisions: tuple[ProvisionEntry, ...] | None  # None: not asked for
    policy_version: int | None  # the privacy policy in force when it was made, linked from it
    policy_url: str

    @property
    def is_purpose_notification(self) -> bool:
        return self.request_type is RequestType.PURPOSE_NOTIFICATION


def _disclosed(records: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Data obtained through an authority or held for another company is not retained
    personal data (Order Art. 5, Art. 16(4)): never shown, even when the decision missed it."""
    return tuple(r for r in records if r.get("origin", Origin.COLLECTED) == Origin.COLLECTED)


def _provisions(session, email: str, fallback_name: str) -> tuple[ProvisionEntry, ...]:
    rows = session.exec(
        select(ProvisionRecord)
        .where(func.lower(ProvisionRecord.subject_email) == email)
        .order_by(col(ProvisionRecord.provided_at), col(ProvisionRecord.id))
    ).all()
    return tuple(
        ProvisionEntry(
            consent=row.basis == ProvisionBasis.CONSENT or row.consent_ref is not None,
            recipient=row.recipient,
            principal=row.subject_name or fallback_name,
            data_items=tuple(row.items),
        )
        for row in rows
        if is_disclosable_record(row.basis, row.is_foreign)
    )


def gather(
    settings: Settings,
    reference: str,
    include_systems: Collection[str],
    *,
    registry: Registry,
    now: datetime | None = None,
) -> Contents:
    """Everything the package for ``reference`` shows, for the systems the decision allows.

    Systems not in ``include_systems`` (withheld by the decision) are left out entirely:
    not even their names appear.
    """
    unknown = set(include_systems) - set(registry.keys())
    if unknown:
        raise ValueError(f"unknown system keys: {sorted(unknown)}")
    with unit_of_work(settings) as session:
        request = load_request(session, reference)
        if request.request_type not in PACKAGE_TYPES:
            raise ValueError(f"{reference}: a {request.request_type} request has no package")
        principal = principal_of(session, request)
        email = normalise_email(principal.email)
        provisions = None
        if request.details.get("include_third_party_records"):
            provisions = _provisions(session, email, principal.name)
        request_type, language = RequestType(request.request_type), request.language
        policy_version = version_in_force(session, now or utcnow())

    identity = subject_of(request) if request.subject else expand_identity(email, registry)
    exported = registry.across(
        lambda _key, connector: connector.export(identity),
        [k for k in registry.keys() if k in include_systems],
    )
    sections = []
    for key, rows in exported.items():
        info = registry.info(key)
        records = _disclosed(rows)
        held = {r.get("_category") for r in records}
        categories = tuple((c.key, getattr(c, f"name_{language}")) for c in info.categories if c.key in held)
        name = getattr(info, f"name_{language}")
        if request_type is RequestType.PURPOSE_NOTIFICATION:
            if records:  # the purposes that apply to data actually held about the subject
                sections.append(SystemSection(key, name, categories, purposes=purposes_for(key, language)))
        else:
            sections.append(SystemSection(key, name, categories, records=records))
    return Contents(
        reference=reference,
        request_type=request_type,
        language=language,
        generated_at=(now or utcnow()).astimezone(ZoneInfo(settings.timezone)),
        systems=tuple(sections),
        provisions=provisions,
        policy_version=policy_version,
        policy_url=f"{settings.mail_public_base_url.rstrip('/')}/policy/{policy_version}?lang={language}",
    )
