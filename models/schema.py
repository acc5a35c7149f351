"""Brings the app database to the newest migration; every table is made by Alembic."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlmodel import Session

from models.audit import audit_key, seal_genesis
from models.db import get_engine
from models.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(settings: Settings, engine: Engine | None = None) -> None:
    engine = engine or get_engine(settings)
    config = alembic_config(settings.app_database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session:
        seal_genesis(session, audit_key(settings.secret))
        session.commit()
