"""One settings class for the whole of madoguchi, read from ``MADOGUCHI_*`` variables.

Nothing here runs at import time: callers ask for :func:`get_settings` when they need it,
so tests can point the app at a temporary folder before anything connects.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".data"),
        description="Where the embedded default keeps its SQLite files, documents and packages.",
    )
    database_url: str | None = Field(
        default=None,
        description="The app database (system of record). Default: SQLite file in data_dir.",
    )
    systems_database_url: str | None = Field(
        default=None,
        description=(
            "Template for the demo systems' databases, with {system} for the key, e.g. "
            "postgresql+psycopg://u@127.0.0.1/{system}. Default: one SQLite file per system."
        ),
    )
    secret_key: SecretStr = Field(
        default=SecretStr("dev-only-change-me"),
        description="Signs tokens and derives the key that encrypts disclosure packages.",
    )
    autopilot: bool = Field(
        default=False, description="Demos and tests only: take the pre-screen's proposals."
    )
    timezone: str = "Asia/Tokyo"

    @property
    def app_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'madoguchi.sqlite'}"

    def system_database_url(self, system: str) -> str:
        if self.systems_database_url:
            return self.systems_database_url.format(system=system)
        return f"sqlite:///{self.data_dir / 'systems' / f'{system}.sqlite'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
