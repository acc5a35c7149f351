"""One desk per module: app database migrated, demo systems seeded with the docs/contract.md
example subject among five generated customers, and provision records in the ledger."""

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demo.fixture import Fixture, load_fixture_into_systems
from demo.seed import seed_systems
from deployments.registry import build_registry
from models.audit import audit_key
from models.db import unit_of_work
from models.fixtures import load_fixture_into_app
from models.ledgers import ProvisionRecord
from models.requests import Party, Request, new_reference
from models.rules.vocabulary import RequestType, Role
from models.schema import upgrade
from models.settings import Settings
from systems import db
from systems.identity import expand_identity

FIXTURE = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "contract_example.json").read_text(encoding="utf-8")
)
SUBJECT = FIXTURE["customers"][0]
EMAIL, NAME, PHONE = SUBJECT["email"], SUBJECT["name"], SUBJECT["phone"]
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
ALL_SYSTEMS = (
    "customers",
    "orders",
    "billing",
    "marketing",
    "points",
    "support",
    "analytics",
    "delivery_contractor",
)
HIDDEN_ADDRESS = "東京都港区秘匿1-1-1"


def _ledger(settings: Settings) -> None:
    """Besides the fixture's consent-based provision: records the law does not require
    (a police inquiry, outsourcing at home), one it does (outsourcing abroad), and another
    person's."""

    def row(recipient, basis, *, email=EMAIL, foreign=False):
        return ProvisionRecord(
            subject_email=email,
            subject_name=NAME,
            recipient=recipient,
            recipient_address=HIDDEN_ADDRESS,
            items=["name", "email"],
            basis=basis,
            is_foreign=foreign,
            consent_ref="consent-42",
            provided_at=NOW - timedelta(days=30),
            keep_until=NOW + timedelta(days=900),
        )

    with unit_of_work(settings) as session:
        load_fixture_into_app(
            session,
            Fixture.model_validate(FIXTURE),
            now=NOW,
            audit_key=audit_key(settings.secret_key.get_secret_value()),
        )
        session.add_all(
            [
                row("警視庁", "police_written_inquiry"),
                row("株式会社国内委託", "outsourcing"),
                row("Overseas Data Pte. Ltd.", "outsourcing", foreign=True),
                row("他人向け株式会社", "consent", email="someone.else@example.com"),
            ]
        )


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("desk"), secret_key="test-secret")
    upgrade(settings)
    seed_systems(settings, customers=5)
    load_fixture_into_systems(FIXTURE, settings)
    _ledger(settings)
    yield settings
    db.dispose()


@pytest.fixture(scope="module")
def registry(desk):
    return build_registry(desk)


@pytest.fixture(scope="module")
def exported(desk, registry):
    """What each system's connector exports about the subject, by system key."""
    identity = expand_identity(EMAIL, registry)
    return {key: registry.connector(key).export(identity) for key in ALL_SYSTEMS}


@pytest.fixture
def new_request(desk):
    """A request of the subject's, as intake would have persisted it; returns its reference."""

    def make(request_type=RequestType.DISCLOSURE, language="ja", third_party=False) -> str:
        with unit_of_work(desk) as session:
            request = Request(
                reference=new_reference(NOW),
                request_type=request_type,
                language=language,
                status_token_hash=secrets.token_hex(32),
                details={"include_third_party_records": third_party, "delivery": "electronic"},
                received_at=NOW,
                updated_at=NOW,
            )
            session.add(request)
            session.flush()
            session.add(
                Party(
                    request_id=request.id,
                    role=Role.PRINCIPAL,
                    is_requester=True,
                    name=NAME,
                    email=EMAIL,
                    phone=PHONE,
                )
            )
            return request.reference

    return make
