"""Fixture subjects (docs/contract.md "Systems and fixtures") written into the demo systems.

Only ``email`` and ``name`` are required; systems a customer's ``records`` does not list
get a few generated records. ``third_party_provisions`` and ``prior_requests`` are modelled
here but belong to the app database, which another loader writes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from demo.systems import DEFINITIONS
from demo.systems import customers as customer_master
from demo.world import SubjectData, World, known
from models.rules.vocabulary import Origin, RequestType
from models.settings import Settings
from systems.db import ensure_schema
from systems.identity import expand_identity, normalise_email
from systems.registry import Registry

FEW = 2


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class MarketingState(_Open):
    consented: bool = True
    opted_out: bool = False
    mailed_after_opt_out: bool = False


class Provenance(_Open):
    system: str
    origin: Origin = Origin.COLLECTED

    @field_validator("system")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DEFINITIONS:
            raise ValueError(f"unknown system {value!r}")
        return value


class ThirdPartyProvision(_Open):
    recipient: str
    items: list[str] = Field(default_factory=list)
    basis: str | None = None  # left out or null: a provision without consent (docs/contract.md)
    provided_at: date


class PriorRequest(_Open):
    request_type: RequestType
    received_at: date


class FixtureCustomer(_Open):
    email: str
    name: str
    login_id: str | None = None
    company: str | None = None
    phone: str | None = None
    industry: str | None = None
    title: str | None = None
    job_type: str | None = None
    billing_department: str | None = None
    billing_address: str | None = None
    records: dict[str, int] = Field(default_factory=dict)
    marketing: MarketingState = Field(default_factory=MarketingState)
    provenance: list[Provenance] = Field(default_factory=list)
    third_party_provisions: list[ThirdPartyProvision] = Field(default_factory=list)
    prior_requests: list[PriorRequest] = Field(default_factory=list)
    account_closed_at: date | None = None  # closed then: its records are dated before it

    @field_validator("records")
    @classmethod
    def _counts(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - set(DEFINITIONS) - {"customers"}
        if unknown:
            raise ValueError(f"unknown systems in records: {sorted(unknown)}")
        if any(n < 0 for n in value.values()):
            raise ValueError("record counts must not be negative")
        return value

    def count(self, system: str) -> int:
        return self.records.get(system, FEW)

    def origin(self, system: str) -> Origin:
        return next((p.origin for p in reversed(self.provenance) if p.system == system), Origin.COLLECTED)


class Fixture(_Open):
    customers: list[FixtureCustomer]

    @field_validator("customers")
    @classmethod
    def _one_login_each(cls, value: list[FixtureCustomer]) -> list[FixtureCustomer]:
        """The customer master keys logins uniquely: two customers cannot share one."""
        first: dict[str, int] = {}
        for number, customer in enumerate(value):
            if customer.login_id is not None and first.setdefault(customer.login_id, number) != number:
                raise ValueError(
                    f"customers {first[customer.login_id] + 1} and {number + 1} have the same login_id"
                )
        return value


class FixtureRejected(ValueError):
    """A customer the systems cannot take as given; ``number`` counts from 1."""

    def __init__(self, number: int, field: str, problem: str):
        super().__init__(f"customer {number}, {field}: {problem}")
        self.number, self.field, self.problem = number, field, problem


def read_fixture(path: str | Path) -> Fixture:
    return Fixture.model_validate_json(Path(path).read_text(encoding="utf-8"))


def load_fixture_into_systems(
    fixture: Fixture | dict[str, Any], settings: Settings, *, seed: int = 0
) -> list[str]:
    """Write each fixture customer into every system; returns their customer ids. A login
    another customer of the systems has is refused (:class:`FixtureRejected`) before any
    customer is written."""
    if not isinstance(fixture, Fixture):
        fixture = Fixture.model_validate(fixture)
    world = World(customers=0, seed=seed)
    registry = Registry(settings, DEFINITIONS)
    engines = {
        key: ensure_schema(settings.system_database_url(key), d.metadata) for key, d in DEFINITIONS.items()
    }
    with engines["customers"].connect() as conn:
        for number, customer in enumerate(fixture.customers, 1):
            holder = customer_master.login_holder(conn, customer.login_id) if customer.login_id else None
            if holder not in (None, normalise_email(customer.email)):
                raise FixtureRejected(number, "login_id", "another customer already has this login")
    customer_ids = []
    for number, customer in enumerate(fixture.customers):
        generated = world.customer(number)
        subject = SubjectData(
            email=normalise_email(customer.email),
            name=customer.name,
            company=customer.company or generated.company,
            phone=customer.phone or generated.phone,
            login_id=customer.login_id,
            industry=customer.industry,
            title=customer.title,
            job_type=customer.job_type,
            billing_department=customer.billing_department,
            billing_address=customer.billing_address,
            consented=customer.marketing.consented,
            opted_out=customer.marketing.opted_out,
            mailed_after_opt_out=customer.marketing.mailed_after_opt_out,
            closed_on=customer.account_closed_at,
        )
        earlier = expand_identity(customer.email, registry)
        if earlier.found:
            for key in reversed(DEFINITIONS):  # the customer master last: it leads to the rest
                registry.database(key).purge(earlier)
        for key, definition in DEFINITIONS.items():  # customers first, orders before contractor
            count = 1 if key == "customers" else customer.count(key)
            if key == "orders":
                count = max(count, customer.count("delivery_contractor"))
            with engines[key].begin() as conn:
                definition.load_subject(conn, subject, count, customer.origin(key), world)
        customer_ids.append(known(subject.customer_id))
    return customer_ids
