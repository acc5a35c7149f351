"""Personal data never reaches Prefect: after end-to-end runs decided by operators (so that run
inputs exist), Prefect's database, everything its API gives back (flow and task runs with
their parameters, states and results, logs, artifacts, run inputs) and the result storage
are searched for the subject's and requesters' personal data. Run after the other lifecycle
tests of the session, it searches their runs too."""

import json
import time
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from tests.flows.conftest import PRINCIPAL, Run, enter_code, submit
from tests.flows.support import operator, request_of

# the subject, and what other tests of the session give as requesters' data
PERSONAL = [
    "山田",
    "太郎",
    "山田太郎",
    "taro@example.co.jp",
    "taro@",
    "03-1234-5678",
    "0312345678",
    "+81-3-1234-5678",
    "A1234567",
    "株式会社サンプル",
    "東京都江東区豊洲",
    "090-8765-4321",
    "09087654321",
    "090-2222-3333",
    "09022223333",  # corrections asked for
    "代理 花子",
    "agent@example.jp",
    "03-9999-0000",
    "0399990000",
    "Z9999999",
    "06-0000-0000",
]


def _forms(text: str) -> set[bytes]:
    """The ways a string is stored: UTF-8, and JSON with non-ASCII escaped."""
    return {text.encode(), json.dumps(text)[1:-1].encode(), json.dumps(text)[1:-1].upper().encode()}


def _hits(blob: bytes) -> list[str]:
    return [p for p in PERSONAL if any(f in blob for f in _forms(p))]


def _database_files() -> list[Path]:
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    url = url.get_secret_value() if hasattr(url, "get_secret_value") else str(url)
    assert url.startswith("sqlite"), url
    path = Path(url.split(":///", 1)[1])
    return sorted(path.parent.glob(path.name + "*"))


def _storage_files(since: float) -> list[Path]:
    """Result files written during this session (the storage folder may be shared)."""
    from prefect.settings import PREFECT_HOME, PREFECT_LOCAL_STORAGE_PATH

    folders = {Path(PREFECT_LOCAL_STORAGE_PATH.value()), Path(PREFECT_HOME.value()) / "storage"}
    return [
        p
        for folder in folders
        if folder.exists()
        for p in folder.rglob("*")
        if p.is_file() and p.stat().st_mtime >= since
    ]


def _walk_a_disclosure(settings) -> str:
    reference = submit(
        settings,
        "disclosure",
        details={"include_third_party_records": True, "scope": "山田 太郎の注文履歴と請求書"},
    )
    run = Run(reference)
    enter_code(settings, reference, run)
    run.wait_until_paused()
    operator("review", reference, "--item", "orders=refuse:harm_to_life_or_property")
    run.wait_until_paused()
    operator("approve", reference, user="tanaka")
    run.wait_until_paused()
    operator("payment", reference)
    assert run.join() == "completed"
    return reference


def test_prefect_holds_no_personal_data_after_end_to_end_runs(desk):
    from uuid import UUID

    settings = desk
    since = min(p.stat().st_mtime for p in _database_files()) - 1
    reference = _walk_a_disclosure(settings)
    run_id = UUID(request_of(settings, reference).flow_run_id)

    with get_client(sync_client=True) as client:
        # the run's logs, to its last line, have arrived before anything is searched
        deadline = time.monotonic() + 30
        while not any(
            "Finished in state" in g.message
            for g in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
        ):
            assert time.monotonic() < deadline, "the run's logs never reached the server"
            time.sleep(0.2)
        runs = client.read_flow_runs(limit=200)
        tasks = client.read_task_runs(limit=200)
        logs = client.read_logs(limit=200)
        artifacts = client.read_artifacts(limit=200)
        inputs = [i for r in runs for i in client.filter_flow_run_input(r.id, "", 100, set())]
    assert reference in {r.name for r in runs}
    assert any(i.key.startswith("paused-") or "review" in i.key for i in inputs), "no run inputs found"
    assert artifacts, "the review summary artifact is missing"
    found = {
        "flow runs": _hits(
            json.dumps([r.model_dump(mode="json") for r in runs], ensure_ascii=False).encode()
        ),
        "task runs": _hits(
            json.dumps([t.model_dump(mode="json") for t in tasks], ensure_ascii=False).encode()
        ),
        "logs": _hits(json.dumps([g.model_dump(mode="json") for g in logs], ensure_ascii=False).encode()),
        "artifacts": _hits(
            json.dumps([a.model_dump(mode="json") for a in artifacts], ensure_ascii=False).encode()
        ),
        "run inputs": _hits(
            json.dumps([i.model_dump(mode="json") for i in inputs], ensure_ascii=False).encode()
        ),
    }
    database = {path.name: path.read_bytes() for path in _database_files()}
    assert reference.encode() in b"".join(database.values())  # the search reaches the runs
    for name, blob in database.items():
        found[f"database {name}"] = _hits(blob)
    for path in _storage_files(since):
        found[f"result {path.name}"] = _hits(path.read_bytes())
    assert {where: hits for where, hits in found.items() if hits} == {}
    # the app database, by contrast, does hold the subject (the search itself works)
    app = b"".join(p.read_bytes() for p in settings.data_dir.glob("madoguchi.sqlite*"))
    assert {PRINCIPAL["email"], PRINCIPAL["phone"]} <= set(_hits(app))
