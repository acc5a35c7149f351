import pytest
from sqlalchemy import create_engine, text

from demo.fixture import load_fixture_into_systems
from demo.seed import seed_systems
from deployments.registry import build_registry
from models.settings import Settings
from systems import db
from systems.identity import expand_identity

# distinctive values, so that a search of a whole database finds only this subject
SUBJECT = {
    "login_id": "A7654321",
    "company": "合同会社窓口試験",
    "name": "窓口 試験子",
    "email": "shikenko.madoguchi@example.co.jp",
    "phone": "099-8765-4321",
    "industry": "士業",
    "title": "所長",
    "job_type": "総務",
    "billing_department": "窓口経理室",
    "billing_address": "東京都千代田区試験町9-9-9",
    "records": {
        "orders": 3,
        "billing": 2,
        "points": 2,
        "support": 2,
        "analytics": 5,
        "delivery_contractor": 1,
        "marketing": 1,
    },
    "marketing": {"consented": True, "opted_out": True, "mailed_after_opt_out": True},
}
IDENTIFYING = (
    SUBJECT["email"],
    SUBJECT["name"],
    SUBJECT["phone"],
    "09987654321",
    SUBJECT["login_id"],
    SUBJECT["billing_address"],
)


@pytest.fixture
def system_settings(tmp_path):
    yield Settings(data_dir=tmp_path)
    db.dispose()


@pytest.fixture
def world(system_settings):
    """20 seeded customers plus the distinctive subject; yields (registry, reload)."""
    seed_systems(system_settings, customers=20, seed=3)
    registry = build_registry(system_settings)

    def reload():
        load_fixture_into_systems({"customers": [SUBJECT]}, system_settings)
        return expand_identity(SUBJECT["email"], registry)

    return registry, reload


def dump(settings: Settings, key: str) -> str:
    """Every row of every table of one system, as text, for searching."""
    engine = create_engine(settings.system_database_url(key))
    try:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars().all()
            return "\n".join(
                repr(row) for name in names for row in conn.execute(text(f'SELECT * FROM "{name}"'))
            )
    finally:
        engine.dispose()
