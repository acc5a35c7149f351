"""The audit trail: every kind of tampering is found and named; details stay free of data."""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from models.audit import (
    audit_key,
    export_trail,
    head_mac,
    latest_checkpoint,
    load_chain,
    record,
    trail_of,
    verify_chain,
    write_checkpoint,
)
from models.db import unit_of_work
from models.schema import upgrade

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def chain(settings):
    """Six events on two requests; returns (settings, key)."""
    upgrade(settings)
    key = audit_key(settings.secret_key.get_secret_value())
    with unit_of_work(settings) as session:
        for i in range(6):
            record(
                session,
                key=key,
                at=T0 + timedelta(minutes=i),
                actor="operator:sato",
                action=f"request.step.{i}",
                subject_ref="R-A" if i % 2 == 0 else "R-B",
                details={"step": i},
            )
    return settings, key


def _verify(settings, key):
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
        return [(f.seq, f.kind) for f in verify_chain([key], events, head)]


def _sql(settings, statement: str, **params):
    with unit_of_work(settings) as session:
        session.execute(text(statement), params)


def test_untouched_chain_verifies(chain):
    assert _verify(*chain) == []


def test_events_link_to_the_previous_hash(chain):
    settings, _ = chain
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert head.seq == 6 and head.last_hash == events[-1].hash


@pytest.mark.parametrize(
    "column, value",
    [
        ("details", "'{\"step\": 99}'"),
        ("actor", "'autopilot'"),
        ("action", "'request.closed'"),
        ("subject_ref", "'R-X'"),
        ("at", "'2020-01-01 00:00:00.000000'"),
    ],
)
def test_an_edited_event_is_named(chain, column, value):
    settings, key = chain
    _sql(settings, f"UPDATE audit_event SET {column} = {value} WHERE seq = 3")
    assert _verify(settings, key) == [(3, "edited")]


def test_a_deleted_event_is_named(chain):
    settings, key = chain
    _sql(settings, "DELETE FROM audit_event WHERE seq = 4")
    assert _verify(settings, key) == [(4, "deleted")]


def test_events_cut_off_the_end_are_found(chain):
    settings, key = chain
    _sql(settings, "DELETE FROM audit_event WHERE seq >= 5")
    assert _verify(settings, key) == [(5, "deleted")]


def test_an_inserted_event_is_named(chain):
    """A forger copies a real link and renumbers what follows to make room."""
    settings, key = chain
    with unit_of_work(settings) as session:
        events, _ = load_chain(session)
    _sql(settings, "UPDATE audit_event SET seq = seq + 100 WHERE seq >= 4")
    _sql(settings, "UPDATE audit_event SET seq = seq - 99 WHERE seq >= 104")
    _sql(
        settings,
        "INSERT INTO audit_event (seq, at, actor, action, subject_ref, details, flow_run_id, prev_hash, hash) "
        "VALUES (4, '2026-11-26 09:03:30.000000', 'operator:sato', 'request.refund', 'R-B', '{}', NULL, :prev, :h)",
        prev=events[2].hash,
        h="f" * 64,
    )
    found = _verify(settings, key)
    assert found[0] == (4, "inserted")
    assert {kind for _, kind in found[1:]} <= {"reordered", "inserted"}


def test_an_event_appended_behind_the_tip_is_named(chain):
    settings, key = chain
    with unit_of_work(settings) as session:
        events, _ = load_chain(session)
    _sql(
        settings,
        "INSERT INTO audit_event (seq, at, actor, action, subject_ref, details, flow_run_id, prev_hash, hash) "
        "VALUES (7, '2026-11-26 10:00:00.000000', 'x', 'request.closed', 'R-A', '{}', NULL, :prev, :h)",
        prev=events[-1].hash,
        h="e" * 64,
    )
    kinds = _verify(settings, key)
    assert (7, "edited") in kinds or (7, "inserted") in kinds
    assert (7, "inserted") in kinds


def test_reordered_events_are_named(chain):
    settings, key = chain
    _sql(settings, "UPDATE audit_event SET seq = 100 WHERE seq = 2")
    _sql(settings, "UPDATE audit_event SET seq = 2 WHERE seq = 3")
    _sql(settings, "UPDATE audit_event SET seq = 3 WHERE seq = 100")
    assert _verify(settings, key) == [(2, "reordered"), (3, "reordered")]


def test_a_wrong_key_fails_everything(chain):
    settings, _ = chain
    assert _verify(settings, audit_key("another secret")) == [(i, "edited") for i in range(1, 7)] + [
        (6, "edited")
    ]


def test_events_cut_off_with_the_tip_rewound_are_found(chain):
    """Rewinding the tip to an earlier event needs the key: without it the cut shows."""
    settings, key = chain
    with unit_of_work(settings) as session:
        events, _ = load_chain(session)
    _sql(settings, "DELETE FROM audit_event WHERE seq = 6")
    _sql(settings, "UPDATE audit_head SET seq = 5, last_hash = :h", h=events[4].hash)
    assert _verify(settings, key) == [(5, "edited")]


def test_a_wiped_trail_reset_to_new_is_found(chain):
    settings, key = chain
    _sql(settings, "DELETE FROM audit_event")
    _sql(settings, "UPDATE audit_head SET seq = 0, last_hash = :h, mac = ''", h="0" * 64)
    assert _verify(settings, key) == [(0, "edited")]


def test_a_new_trail_verifies(settings):
    upgrade(settings)
    assert _verify(settings, audit_key(settings.secret_key.get_secret_value())) == []


def test_personal_data_is_refused_in_details(settings):
    upgrade(settings)
    key = audit_key("k")
    with pytest.raises(ValueError, match="personal data"), unit_of_work(settings) as session:
        record(
            session,
            key=key,
            at=T0,
            actor="system",
            action="request.received",
            subject_ref="R-A",
            details={"to": "taro@example.co.jp"},
        )
    with pytest.raises(ValueError, match="name"), unit_of_work(settings) as session:
        record(
            session,
            key=key,
            at=T0,
            actor="system",
            action="request.received",
            subject_ref="R-A",
            details={"party": {"name": "山田"}},
        )
    for value in ["山田 太郎", "03-1234-5678", "09012345678", "+81 3 1234 5678"]:
        with pytest.raises(ValueError, match="personal data"), unit_of_work(settings) as session:
            record(
                session,
                key=key,
                at=T0,
                actor="system",
                action="request.corrected",
                subject_ref="R-A",
                details={"requested": value},
            )
    with unit_of_work(settings) as session:
        assert load_chain(session)[1].seq == 0  # nothing half-written
        record(
            session,
            key=key,
            at=T0,
            actor="system",
            action="request.corrected",
            subject_ref="R-261126-ABCDEF",
            details={
                "fields": ["phone"],
                "at": "2026-11-26T09:00:00+09:00",
                "count": 3,
                "flow": "0b6e7a52-1c0f-4f39-a6f4-0d2b3c4d5e6f",
            },
        )


def test_export_writes_one_subjects_trail_as_json_and_csv(chain, tmp_path):
    settings, _ = chain
    with unit_of_work(settings) as session:
        events = trail_of(session, "R-A")
    json_path, csv_path = export_trail(events, tmp_path / "out", "R-A")
    rows = json.loads(json_path.read_text())
    assert [r["seq"] for r in rows] == [1, 3, 5]
    assert rows[0]["details"] == {"step": 0} and rows[0]["hash"] == events[0].hash
    assert csv_path.read_text().splitlines()[0].startswith("seq,at,actor,action")
    assert len(csv_path.read_text().splitlines()) == 4


def _append_many(settings, key, count, actor):
    for i in range(count):
        with unit_of_work(settings) as session:
            record(
                session,
                key=key,
                at=T0 + timedelta(seconds=i),
                actor=actor,
                action="request.step",
                subject_ref="R-C",
                details={"i": i},
            )


def test_concurrent_appends_keep_one_chain(settings):
    from concurrent.futures import ThreadPoolExecutor

    upgrade(settings)
    key = audit_key("k")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _append_many(settings, key, 25, f"worker:{n}"), range(4)))
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    assert head.seq == len(events) == 100
    assert verify_chain([key], events, head) == []


@pytest.mark.postgres
def test_chain_on_postgresql_verifies_and_finds_an_edit(pg_settings):
    upgrade(pg_settings)
    key = audit_key("k")
    _append_many(pg_settings, key, 5, "system")
    assert _verify(pg_settings, key) == []
    _sql(pg_settings, "UPDATE audit_event SET actor = 'someone' WHERE seq = 2")
    assert _verify(pg_settings, key) == [(2, "edited")]


def _checkpoint(settings, key, at=T0 + timedelta(hours=1)):
    with unit_of_work(settings) as session:
        return write_checkpoint(session, key, settings.audit_checkpoint_path, at)


def _verify_against(settings, key):
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    return verify_chain([key], events, head, latest_checkpoint(settings.audit_checkpoint_path))


def _head(settings):
    with unit_of_work(settings) as session:
        head = load_chain(session)[1]
        return head.seq, head.last_hash, head.mac


def test_a_checkpoint_is_appended_once_per_head_in_a_private_file(chain):
    settings, key = chain
    first = _checkpoint(settings, key)
    assert _checkpoint(settings, key, at=T0 + timedelta(hours=2)) == first  # same head: no new line
    with unit_of_work(settings) as session:
        record(session, key=key, at=T0, actor="system", action="request.step.6", subject_ref="R-A")
    second = _checkpoint(settings, key, at=T0 + timedelta(hours=3))
    path = settings.audit_checkpoint_path
    assert (first.seq, second.seq) == (6, 7) and len(path.read_text().splitlines()) == 2
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert latest_checkpoint(path) == second and _verify_against(settings, key) == []


def _cut_tail_after_checkpoint(settings, key):
    """The head row saved at entry #6 (MAC and all), two more events, the monitor's checkpoint,
    then the tail cut and the saved row put back; returns the events before the cut."""
    seq, last_hash, mac = _head(settings)
    with unit_of_work(settings) as session:
        for i in (6, 7):
            record(
                session,
                key=key,
                at=T0 + timedelta(minutes=i),
                actor="system",
                action=f"request.step.{i}",
                subject_ref="R-A",
            )
    with unit_of_work(settings) as session:
        events, _ = load_chain(session)
    _checkpoint(settings, key)
    _sql(settings, "DELETE FROM audit_event WHERE seq > :seq", seq=seq)
    _sql(settings, "UPDATE audit_head SET seq = :seq, last_hash = :h, mac = :m", seq=seq, h=last_hash, m=mac)
    return events


def test_a_cut_tail_with_an_older_head_row_put_back_fails_against_the_checkpoint(chain):
    settings, key = chain
    events = _cut_tail_after_checkpoint(settings, key)
    assert _verify(settings, key) == []  # all the database alone can tell
    (finding,) = _verify_against(settings, key)
    assert (finding.seq, finding.kind) == (7, "truncated")
    assert finding.message == (
        "the chain ends at entry #6 but the checkpoint of 2026-11-26 10:00:00 UTC saw "
        f"entry #8 with hash {events[-1].hash}"
    )


def test_the_command_names_a_cut_tail(chain, monkeypatch):
    from typer.testing import CliRunner

    from cli import app
    from models.settings import get_settings

    settings, key = chain
    events = _cut_tail_after_checkpoint(settings, key)
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert (
        "TRUNCATED #7: the chain ends at entry #6 but the checkpoint of 2026-11-26 10:00:00 UTC"
        in result.output
    )
    assert f"saw entry #8 with hash {events[-1].hash}" in result.output


def test_a_chain_cut_and_written_again_past_the_checkpoint_is_named(chain):
    settings, key = chain
    with unit_of_work(settings) as session:
        events, _ = load_chain(session)
    _checkpoint(settings, key)
    _sql(settings, "DELETE FROM audit_event WHERE seq >= 5")
    _sql(
        settings,
        "UPDATE audit_head SET seq = 4, last_hash = :h, mac = :m",
        h=events[3].hash,
        m=head_mac(key, 4, events[3].hash),
    )
    with unit_of_work(settings) as session:  # the desk goes on writing: #5 and #6 again, other ones
        for _i in (5, 6):
            record(
                session,
                key=key,
                at=T0 + timedelta(days=1),
                actor="system",
                action="request.other",
                subject_ref="R-A",
            )
    assert [(f.seq, f.kind) for f in _verify_against(settings, key)] == [(6, "truncated")]


def test_an_edited_checkpoint_line_is_named(chain):
    settings, key = chain
    checkpoint = _checkpoint(settings, key)
    path = settings.audit_checkpoint_path
    path.write_text(path.read_text().replace('"seq": 6', '"seq": 3'))
    assert [(f.seq, f.kind) for f in _verify_against(settings, key)] == [(3, "edited")]
    assert checkpoint.seq == 6


def test_events_signed_before_and_after_a_rotation_verify_with_the_keyring(chain):
    settings, old = chain
    new = audit_key("the next key")
    with unit_of_work(settings) as session:
        record(session, key=new, at=T0, actor="system", action="request.step.6", subject_ref="R-A")
    with unit_of_work(settings) as session:
        events, head = load_chain(session)
    assert [e.hash.partition(":")[0] for e in events] == [old.id] * 6 + [new.id]
    assert verify_chain([old, new], events, head) == []
    assert [(f.seq, f.kind) for f in verify_chain([new], events, head)] == [
        (i, "edited") for i in range(1, 7)
    ]
