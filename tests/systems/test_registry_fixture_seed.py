import json
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from demo.faults import Faulty
from demo.fixture import Fixture, load_fixture_into_systems
from demo.seed import seed_systems
from deployments.registry import build_registry
from models.rules.vocabulary import Origin, SystemAction
from models.settings import KEYRING_FILE, Settings
from systems.connector import translated
from systems.identity import SubjectIdentity, expand_identity
from systems.protocol import Connector, TransientSystemError
from systems.registry import summary
from tests.systems.conftest import dump

KEYS = (
    "customers",
    "orders",
    "billing",
    "marketing",
    "points",
    "support",
    "analytics",
    "delivery_contractor",
)
CONTRACT_EXAMPLE = {
    "customers": [
        {
            "login_id": "A1234567",
            "company": "株式会社サンプル",
            "name": "山田 太郎",
            "email": "taro@example.co.jp",
            "phone": "03-1234-5678",
            "industry": "製造業",
            "title": "課長",
            "job_type": "総務",
            "billing_department": "経理部",
            "billing_address": "東京都江東区豊洲3-2-3",
            "records": {
                "orders": 3,
                "billing": 2,
                "points": 1,
                "support": 1,
                "analytics": 5,
                "delivery_contractor": 1,
                "marketing": 1,
            },
            "marketing": {"consented": True, "opted_out": False, "mailed_after_opt_out": False},
            "provenance": [{"system": "support", "origin": "authority_inquiry"}],
            "third_party_provisions": [
                {
                    "recipient": "株式会社配送パートナー",
                    "items": ["name", "phone"],
                    "basis": "consent",
                    "provided_at": "2026-04-01",
                }
            ],
            "prior_requests": [{"request_type": "disclosure", "received_at": "2026-11-01"}],
        }
    ]
}


def test_registry_lists_the_contract_systems_without_touching_anything(system_settings):
    registry = build_registry(system_settings)
    assert registry.keys() == KEYS
    assert all(isinstance(registry.connector(k), Connector) for k in KEYS)
    # nothing connected yet (the settings made their key file, nothing else)
    assert [p.name for p in Path(system_settings.data_dir).iterdir()] in ([], [KEYRING_FILE])
    billing = registry.info("billing")
    assert billing.retention.years == 7 and SystemAction.ERASE not in billing.actions
    assert [i.key for i in registry if i.contractor] == ["delivery_contractor"]
    assert all(i.name_ja and i.name_en and i.categories for i in registry)


def test_summary_gives_counts_per_system(system_settings):
    seed_systems(system_settings, customers=10, seed=1)
    rows = summary(build_registry(system_settings))
    assert [r["key"] for r in rows] == list(KEYS)
    assert rows[0]["rows"] == {"customers": 10}
    assert rows[2]["retention"]["years"] == 7
    json.dumps(rows, ensure_ascii=False)


def test_contract_example_round_trips(system_settings):
    fixture = Fixture.model_validate({**CONTRACT_EXAMPLE, "comment": "extra keys are fine"})
    assert fixture.customers[0].third_party_provisions[0].basis == "consent"
    load_fixture_into_systems(fixture, system_settings)
    registry = build_registry(system_settings)
    identity = expand_identity("taro@example.co.jp", registry)
    counts = {k: registry.connector(k).locate(identity).counts for k in KEYS}
    assert counts["orders"]["orders"] == 3 and counts["billing"]["invoices"] == 2
    assert counts["points"]["point_grants"] == 1 and counts["support"]["tickets"] == 1
    assert sum(counts["analytics"][c] for c in ("page_views", "purchase_history", "ad_views")) == 5
    assert counts["delivery_contractor"] == {"consignments": 1}
    assert counts["marketing"]["subscriptions"] == 1
    assert registry.connector("support").locate(identity).origins == {Origin.AUTHORITY_INQUIRY}
    profile = registry.connector("customers").export(identity)[0]
    source = CONTRACT_EXAMPLE["customers"][0]
    assert {
        k: profile[k]
        for k in (
            "login_id",
            "company",
            "email",
            "phone",
            "industry",
            "title",
            "job_type",
            "billing_department",
            "billing_address",
        )
    } == {
        k: source[k]
        for k in (
            "login_id",
            "company",
            "email",
            "phone",
            "industry",
            "title",
            "job_type",
            "billing_department",
            "billing_address",
        )
    }
    assert profile["contact_name"] == "山田 太郎"
    # the app database's part is not written into any system
    assert not any("株式会社配送パートナー" in dump(system_settings, k) for k in KEYS[:-1])


def test_minimal_fixture_customer_gets_a_few_records_everywhere(system_settings):
    load_fixture_into_systems({"customers": [{"email": "a@example.jp", "name": "青木 一"}]}, system_settings)
    registry = build_registry(system_settings)
    identity = expand_identity("a@example.jp", registry)
    assert all(registry.connector(k).locate(identity).found for k in KEYS)


def test_fixture_rejects_unknown_systems():
    with pytest.raises(ValueError):
        Fixture.model_validate({"customers": [{"email": "a@b.jp", "name": "x", "records": {"payroll": 1}}]})


def test_seeding_is_deterministic(tmp_path):
    one, two, other = (Settings(data_dir=tmp_path / n) for n in ("one", "two", "other"))
    for settings, seed in ((one, 5), (two, 5), (other, 6)):
        seed_systems(settings, customers=30, seed=seed)
    assert all(dump(one, k) == dump(two, k) for k in KEYS)
    assert dump(one, "customers") != dump(other, "customers")


def test_faulty_wrapper_fails_first_calls_then_passes_through(world):
    registry, reload = world
    identity = reload()
    wrapped = build_registry(registry.settings, wrap=lambda key, c: Faulty(c, fail_first=2, latency=0.001))
    connector = wrapped.connector("orders")
    assert isinstance(connector, Connector)
    for _ in range(2):
        with pytest.raises(TransientSystemError):
            connector.locate(identity)
    assert connector.locate(identity).counts["orders"] == 3
    assert expand_identity(identity.email, wrapped) == identity  # discover is not gated


def test_driver_errors_are_translated_without_personal_data():
    leaked = sa_exc.OperationalError(
        "SELECT …", {"email": "taro@example.co.jp"}, Exception("database is locked")
    )
    with pytest.raises(TransientSystemError) as caught, translated("customers", "locate"):
        raise leaked
    assert "taro" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_identity_survives_a_round_trip_through_json():
    identity = SubjectIdentity.of(" Taro@Example.co.jp ").merged({"phones": {"03-1234-5678"}})
    assert identity.email == "taro@example.co.jp" and identity.phone_numbers == ("0312345678",)
    assert SubjectIdentity.from_dict(json.loads(json.dumps(identity.to_dict()))) == identity


def test_faulty_wrapper_fails_a_share_of_calls_at_random(world):
    registry, reload = world
    identity = reload()
    wrapped = build_registry(registry.settings, wrap=lambda key, c: Faulty(c, fail_rate=0.3))
    connector = wrapped.connector("orders")
    outcomes = []
    for _ in range(200):
        try:
            connector.locate(identity)
            outcomes.append(True)
        except TransientSystemError:
            outcomes.append(False)
    assert 40 <= outcomes.count(False) <= 80, outcomes.count(False)  # about 30 % (seeded per system)
