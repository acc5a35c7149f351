import pytest
from sqlalchemy import func, select

from demo.systems import DEFINITIONS
from models.rules.vocabulary import Origin, SystemAction
from systems import db
from systems.connector import DatabaseConnector
from systems.identity import expand_identity
from systems.protocol import ActionNotSupported, Connector, PermanentSystemError
from tests.systems.conftest import IDENTIFYING, SUBJECT, dump

CHANGES = {
    "name": "窓口 改名子",
    "phone": "099-1111-2222",
    "company": "合同会社窓口改",
    "billing_address": "大阪府大阪市試験区1-1",
    "delivery_address": "大阪府大阪市試験区1-1",
}
CASES = [(key, action) for key in DEFINITIONS for action in SystemAction if action is not SystemAction.EXPORT]


def act(connector, action, identity, key):
    if action is SystemAction.RECTIFY:
        return connector.rectify(identity, CHANGES, idempotency_key=key)
    return getattr(connector, str(action))(identity, idempotency_key=key)


def ledger_rows(registry, key, idempotency_key):
    direct: DatabaseConnector = registry.database(key)
    ledger = direct.definition.applied
    with direct._engine().connect() as conn:
        return conn.execute(
            select(func.count()).select_from(ledger).where(ledger.c.idempotency_key == idempotency_key)
        ).scalar_one()


@pytest.mark.parametrize(("key", "action"), CASES, ids=[f"{k}-{a}" for k, a in CASES])
def test_action_is_idempotent_by_key(world, key, action):
    registry, reload = world
    identity = reload()
    connector = registry.connector(key)
    assert isinstance(connector, Connector)
    if action not in registry.info(key).actions:
        with pytest.raises(ActionNotSupported):
            act(connector, action, identity, "k1")
        assert ledger_rows(registry, key, "k1") == 0
        return

    first = act(connector, action, identity, "k1")
    assert (first.system, first.action, first.replayed) == (key, action, False)
    assert first.affected > 0, first

    # fresh, untouched records for the same subject; the same key must not touch them
    identity = reload()
    before = connector.export(identity)
    replay = act(connector, action, identity, "k1")
    assert replay.replayed and (replay.affected, replay.done) == (first.affected, first.done)
    assert connector.export(identity) == before
    assert ledger_rows(registry, key, "k1") == 1

    again = act(connector, action, identity, "k2")
    assert not again.replayed and again.affected == first.affected


def test_key_reused_for_another_action_is_refused(world):
    registry, reload = world
    identity = reload()
    connector = registry.connector("orders")
    connector.restrict(identity, idempotency_key="k")
    with pytest.raises(PermanentSystemError):
        connector.erase(identity, idempotency_key="k")


@pytest.mark.parametrize("key", [k for k in DEFINITIONS if k != "billing"])
def test_erase_leaves_nothing_that_identifies_the_subject(world, key):
    registry, reload = world
    identity = reload()
    assert any(value in dump(registry.settings, key) for value in IDENTIFYING)
    registry.connector(key).erase(identity, idempotency_key="erase-1")
    everything = dump(registry.settings, key)
    assert [v for v in IDENTIFYING if v in everything] == []
    assert not registry.connector(key).locate(identity).found


def test_expansion_finds_the_subject_in_all_eight_systems(world):
    registry, reload = world
    reload()
    identity = expand_identity(SUBJECT["email"].upper(), registry)
    assert len(identity.customer_ids) == 1 and identity.login_ids == ("A7654321",)
    assert len(identity.shipment_nos) == 3 and len(identity.visitor_ids) == 1
    located = {k: registry.connector(k).locate(identity) for k in registry.keys()}
    assert {k for k, loc in located.items() if loc.found} == set(DEFINITIONS)
    assert located["orders"].counts["orders"] == 3
    assert located["delivery_contractor"].counts == {"consignments": 1}
    assert located["support"].origins == frozenset({Origin.COLLECTED})


def test_an_unknown_email_is_found_nowhere(world):
    registry, _ = world
    identity = expand_identity("nobody@example.invalid", registry)
    assert not identity.found
    assert not any(registry.connector(k).locate(identity).found for k in registry.keys())


def test_export_is_json_and_restrict_shows_in_locate(world):
    import json

    registry, reload = world
    identity = reload()
    connector = registry.connector("support")
    rows = connector.export(identity)
    json.dumps(rows)
    assert {r["_category"] for r in rows} == {"tickets", "call_recordings"}
    assert all(
        r["file_ref"].startswith("recordings/") and r["file_ref"].endswith(".wav")
        for r in rows
        if r["_category"] == "call_recordings"
    )
    connector.restrict(identity, idempotency_key="r")
    assert connector.locate(identity).restricted == 4


def test_actions_leave_data_that_is_not_the_companys_own(system_settings):
    """Support data first obtained through a police inquiry is not retained personal data:
    an erasure or restriction on the requester's demand leaves it as it is."""
    from demo.fixture import load_fixture_into_systems
    from deployments.registry import build_registry
    from systems.identity import expand_identity
    from tests.systems.conftest import SUBJECT

    subject = {**SUBJECT, "provenance": [{"system": "support", "origin": "authority_inquiry"}]}
    load_fixture_into_systems({"customers": [subject]}, system_settings)
    registry = build_registry(system_settings)
    identity = expand_identity(SUBJECT["email"], registry)
    support = registry.connector("support")
    before = support.locate(identity)
    assert before.total > 0
    assert support.erase(identity, idempotency_key="R-1:support:erase").affected == 0
    assert support.restrict(identity, idempotency_key="R-1:support:restrict").affected == 0
    assert support.locate(identity).counts == before.counts
    assert registry.connector("points").erase(identity, idempotency_key="R-1:points:erase").affected > 0


def test_locate_reports_the_account_closing_and_the_last_order_and_billing_activity(system_settings):
    """The facts of "no longer needed" (docs/rules.md §1): the customer master's closing day,
    orders' and invoices' latest day; a closed account's generated records all precede it."""
    from datetime import date, timedelta

    from demo.fixture import load_fixture_into_systems
    from deployments.registry import build_registry

    registry = build_registry(system_settings)
    load_fixture_into_systems({"customers": [SUBJECT]}, system_settings)
    identity = expand_identity(SUBJECT["email"], registry)
    located = {key: registry.connector(key).locate(identity) for key in registry.keys()}
    assert located["customers"].closed_on is None  # open
    assert all(located[k].last_active_on for k in ("orders", "billing"))
    assert not any(
        located[k].last_active_on or located[k].closed_on
        for k in registry.keys()
        if k not in ("customers", "orders", "billing")
    )

    closed = date(2024, 12, 5)
    load_fixture_into_systems(
        {"customers": [{**SUBJECT, "account_closed_at": closed.isoformat()}]}, system_settings
    )
    identity = expand_identity(SUBJECT["email"], registry)
    assert registry.connector("customers").locate(identity).closed_on == closed
    orders = [r for r in registry.connector("orders").export(identity) if r["_category"] == "orders"]
    assert len(orders) == 3 and all(r["ordered_at"][:10] < closed.isoformat() for r in orders)
    last = max(registry.connector(k).locate(identity).last_active_on for k in ("orders", "billing"))
    assert closed - timedelta(days=700) < last <= closed + timedelta(days=20)  # the last invoice paid after


def test_a_system_seeded_before_a_column_was_added_gains_it(system_settings):
    """The customer master of an earlier version had no ``closed_on``: the first use adds it,
    and the subject is found (and open) instead of every call failing."""
    from sqlalchemy import create_engine, inspect, text

    from demo.fixture import load_fixture_into_systems
    from deployments.registry import build_registry

    load_fixture_into_systems({"customers": [SUBJECT]}, system_settings)
    db.dispose()
    url = system_settings.system_database_url("customers")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE customers DROP COLUMN closed_on"))
    engine.dispose()
    registry = build_registry(system_settings)
    identity = expand_identity(SUBJECT["email"], registry)
    located = registry.connector("customers").locate(identity)
    assert located.found and located.closed_on is None
    engine = create_engine(url)
    assert "closed_on" in {c["name"] for c in inspect(engine).get_columns("customers")}
    engine.dispose()


def test_the_customer_master_gives_the_email_of_the_one_record_holding_the_login_id_and_phone(world):
    registry, reload = world
    reload()
    customers = registry.database("customers")
    assert customers.registered_emails(SUBJECT["login_id"], None) == [SUBJECT["email"]]
    assert customers.registered_emails(None, "(099) 8765 4321") == [SUBJECT["email"]]  # by its digits
    assert customers.registered_emails(SUBJECT["login_id"], "099-8765-4321") == [SUBJECT["email"]]
    assert customers.registered_emails(SUBJECT["login_id"], "03-0000-0000") == []  # both must match
    assert customers.registered_emails("A0000000", None) == []
    assert customers.registered_emails(None, None) == []
