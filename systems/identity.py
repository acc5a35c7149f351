"""Who the subject is in each system: an email grows into every key the systems use.

The systems do not share one customer id: the customer master knows the email and hands
out the customer id, login id, phone, billing account and points member id; the order
system turns customer ids into orders and shipment numbers (all the delivery contractor
knows); analytics links login ids to visitor ids. :func:`expand_identity` asks each system
that can link keys (an :class:`~systems.protocol.IdentitySource`) until nothing new appears.

A ``SubjectIdentity`` is personal data: keep it in process or in the app database, never in
Prefect parameters or logs. ``to_dict``/``from_dict`` let the caller persist it so that a
retry need not re-expand after the customer master has already been erased.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from systems.protocol import IdentitySource

if TYPE_CHECKING:
    from systems.protocol import Connector
    from systems.registry import Registry

_MAX_ROUNDS = 8  # each round asks every system at once; a chain of n hops takes n rounds


def normalise_email(email: str) -> str:
    return email.strip().lower()


def phone_digits(phone: str) -> str:
    """Telephony stores bare digits; people write hyphens and full-width digits."""
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))


@dataclass(frozen=True)
class SubjectIdentity:
    email: str
    customer_ids: tuple[str, ...] = ()
    login_ids: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    billing_accounts: tuple[str, ...] = ()
    member_ids: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    shipment_nos: tuple[str, ...] = ()
    visitor_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, email: str) -> SubjectIdentity:
        return cls(email=normalise_email(email))

    @property
    def emails(self) -> tuple[str, ...]:
        return (self.email,)

    @property
    def phone_numbers(self) -> tuple[str, ...]:
        """Phones as bare digits, the form call recordings are keyed by."""
        return tuple(sorted({phone_digits(p) for p in self.phones}))

    @property
    def found(self) -> bool:
        return bool(self.customer_ids)

    def merged(self, found: dict[str, set[str]]) -> SubjectIdentity:
        """A copy with the newly found keys added (unknown names are a programming error)."""
        changes: dict[str, Any] = {}
        for name, values in found.items():
            current = getattr(self, name)
            union = tuple(sorted(set(current) | {v for v in values if v}))
            if union != current:
                changes[name] = union
        return replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubjectIdentity:
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


def _discover(identity: SubjectIdentity, key: str, source: Connector) -> dict[str, set[str]]:
    """What one system links ``identity`` to; :func:`expand_identity` asks identity sources only."""
    if not isinstance(source, IdentitySource):
        raise TypeError(f"{key} is not an identity source")
    return source.discover(identity)


def expand_identity(email: str, registry: Registry) -> SubjectIdentity:
    """Follow the key chain through every registered system until it stops growing."""
    identity = SubjectIdentity.of(email)
    sources = [k for k in registry.keys() if isinstance(registry.connector(k), IdentitySource)]
    for _ in range(_MAX_ROUNDS):
        before = identity
        found = registry.across(partial(_discover, before), sources)
        for keys in found.values():
            identity = identity.merged(keys)
        if identity == before:
            break
    return identity
