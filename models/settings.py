"""One settings class for the whole of madoguchi, read from ``MADOGUCHI_*`` variables.

Nothing here runs at import time: callers ask for :func:`get_settings` when they need it,
so tests can point the app at a temporary folder before anything connects.
"""

import hashlib
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-change-me"
KEYRING_FILE = "secret.key"
SERVICE_AUTH_FILE = "prefect-service.key"
SERVICE_ACCOUNT = "madoguchi-service"


class UnknownKey(LookupError):
    """A value names a key id that is in neither MADOGUCHI_SECRET_KEY nor the keyring file."""


def key_id(secret: str) -> str:
    """The short name a stored value carries of the key that signed or sealed it: a
    fingerprint, so a key given in the environment is named without any bookkeeping."""
    return hashlib.sha256(b"madoguchi-key-id:" + secret.encode()).hexdigest()[:8]


def read_keyring(path: Path) -> list[str]:
    """The keys of the keyring file, oldest first; refused if others may read it."""
    if not path.exists():
        return []
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PermissionError(f"{path} is readable by others: chmod 600 {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _write_private(path: Path, keys: list[str], *, replace: bool) -> None:
    """Write the whole file at once, mode 0600; ``replace=False`` keeps a file another
    process created first (the first run of several processes at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(f"{key}\n" for key in keys))
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def new_key() -> str:
    return secrets.token_urlsafe(32)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MADOGUCHI_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )  # errors must not print the key

    data_dir: Path = Field(
        default=Path(".data"),
        description="Where the embedded default keeps its SQLite files, documents and packages.",
    )
    database_url: str | None = Field(
        default=None,
        description="The app database (system of record). Default: SQLite file in data_dir.",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        description=(
            "Connections each process keeps open to a PostgreSQL database (the app's, and the "
            "Prefect server's that `up` starts), and as many again for a burst. SQLAlchemy's 5 "
            "made every sixth concurrent session open and close a connection of its own: under "
            "a burst that was ~8 new PostgreSQL backends a second, half of PostgreSQL's CPU "
            "(bench/README.md)."
        ),
    )
    systems_database_url: str | None = Field(
        default=None,
        description=(
            "Template for the demo systems' databases, with {system} for the key, e.g. "
            "postgresql+psycopg://u@127.0.0.1/{system}. Default: one SQLite file per system."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "The key that signs the audit chain, codes and tokens and seals packages and "
            "documents. Unset: the newest key of data_dir/secret.key, made on first run (every "
            "host sharing the app database must then share that file)."
        ),
    )
    autopilot: bool = Field(
        default=False,
        description=(
            "Demos and tests only: take the pre-screen's proposals; without a SendGrid key, mail "
            "goes to the file outbox (refused otherwise)."
        ),
    )
    timezone: str = "Asia/Tokyo"

    # --- email (mail/) -------------------------------------------------------------------
    sendgrid_api_key: SecretStr | None = Field(
        default=None, description="SendGrid API key, when no Prefect Secret block is named."
    )
    sendgrid_api_key_block: str | None = Field(
        default=None, description="Name of a Prefect Secret block holding the SendGrid API key."
    )
    sendgrid_host: str = Field(
        default="https://api.sendgrid.com", description="SendGrid API base URL (the stub's in demos)."
    )
    sendgrid_sandbox_mode: bool = Field(
        default=False, description="SendGrid validates but delivers nothing (mail_settings)."
    )
    sendgrid_unsubscribe_group_id: int | None = Field(
        default=None, description="SendGrid unsubscribe group (asm) for marketing mail only."
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None, description="Base64 ECDSA public key of SendGrid's signed event webhook."
    )
    sendgrid_timeout_seconds: float = Field(
        default=5.0, description="One SendGrid call; a slow SendGrid must not hold up delivery."
    )
    sendgrid_max_attempts: int = Field(
        default=12,
        description="Tries of one notice on 429/5xx/connection errors before it is failed (12-24 min).",
    )
    sendgrid_backoff_seconds: float = Field(
        default=2.0, description="Wait before a notice's second try; doubles on each try."
    )
    sendgrid_max_backoff_seconds: float = Field(
        default=300.0, description="Cap on one wait between tries, Retry-After included."
    )
    mail_delivery_budget_seconds: float = Field(
        default=10.0,
        description="One delivery call sends no new notice after this long; the rest waits for the next.",
    )
    mail_from_email: str = "privacy@bizraku.example.jp"
    mail_from_name: str = "ビズらくヘルプデスク"
    mail_reply_to: str | None = "helpdesk@bizraku.example.jp"
    mail_privacy_officer_email: str = "cso@bizraku.example.jp"
    mail_public_base_url: str = Field(
        default="http://localhost:8000", description="Intake service URL, for links in mail."
    )
    mail_outbox_dir: Path | None = Field(
        default=None, description="File outbox used when SendGrid is not configured: data_dir/outbox."
    )
    mail_claim_timeout_seconds: float = Field(
        default=900.0,
        description="A notice claimed this long without a result is in doubt and reconciled.",
    )

    # --- fulfilment across systems (services/fulfilment.py, tasks/fulfilment.py) ------------
    fulfilment_retries: int = Field(
        default=3, description="Retries of one system call after a transient error."
    )
    fulfilment_retry_base_seconds: float = Field(
        default=2.0, description="First retry delay; doubles on each retry, with jitter."
    )
    system_latency_seconds: float = Field(
        default=0.0, description="Demos and benchmarks: simulated latency of every system call."
    )
    system_faults: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "Demos and tests: fail the first N actions of a system with a transient error, per "
            'process, e.g. {"billing": 2}.'
        ),
    )

    system_fault_rate: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Demos and fault tests: this share of every system's actions fails transiently.",
    )

    pause_poll_seconds: float = Field(
        default=0.25,
        description=(
            "How often a paused run asks the API whether it was resumed. Only runs started in a "
            "process pause (tests, benchmarks, `python -m`); deployment runs suspend and poll nothing."
        ),
    )

    # --- running on one machine (madoguchi up, deployments/local.py) -----------------------
    prefect_host: str = Field(default="127.0.0.1", description="Where `up` serves the Prefect API and UI.")
    prefect_port: int = Field(
        default=4200,
        description="Port of the Prefect UI and API for people, behind madoguchi's login (web/gate.py).",
    )
    prefect_internal_port: int = Field(
        default=4201,
        description=(
            "Port of the Prefect server itself, on loopback only: it takes nothing without the "
            "service credential, which only madoguchi's own parts hold."
        ),
    )
    prefect_service_auth: SecretStr | None = Field(
        default=None,
        description=(
            "`name:password` the Prefect server `up` starts requires (PREFECT_SERVER_API_AUTH_STRING) "
            "and madoguchi's workers, dispatcher, intake and CLI send. Unset: data_dir/"
            f"{SERVICE_AUTH_FILE}, made on the first run (mode 0600)."
        ),
    )
    prefect_database_url: SecretStr | None = Field(
        default=None,
        description=(
            "Database of the Prefect server `up` starts: SQLite in the data folder when unset; "
            "`postgresql+asyncpg://…` in production. Prefect's SQLite server answers 503 "
            "(database is locked) to concurrent runs: 33-37 requests/min against 75 on "
            "PostgreSQL (bench/lifecycle.py (d))."
        ),
    )
    intake_port: int = Field(default=8000, description="Port of the intake service (web form, API).")
    mail_stub_port: int = Field(default=3030, description="Port of the SendGrid-compatible stub.")
    intake_rate_per_client: int = Field(
        default=120, description="Writes (submissions, codes, uploads…) one client may make a minute."
    )
    intake_rate_per_email: int = Field(
        default=20, description="Submissions and inquiries for one email address an hour."
    )
    max_documents_per_request: int = Field(
        default=10, ge=1, description="Documents an agent may upload for one request (10 MB each)."
    )
    document_retention_days: int = Field(
        default=30,
        ge=0,
        description="Days after a request closes before the SLA monitor deletes its uploaded files.",
    )
    dispatch_interval_seconds: float = Field(
        default=2.0, description="How often `up` gives requests pending dispatch their flow run."
    )
    workers: int = Field(default=1, description="Worker processes `up` starts (deployments/worker.py).")
    postgres_port: int = Field(
        default=55432, description="`up --production`: port of the PostgreSQL it runs."
    )
    redis_port: int = Field(default=56379, description="`up --production`: port of the Redis it runs.")
    redis_url: str | None = Field(
        default=None,
        description="Redis for Prefect's messaging in production; unset: `up --production` runs one.",
    )
    worker_limit: int = Field(
        default=8,
        description=(
            "Flow runs one worker executes at once (threads of its process): the most it hands "
            "the Prefect server together. A waiting (suspended) run holds no slot."
        ),
    )
    run_max_restarts: int = Field(
        default=4,
        description="Restarts of a case's dead flow run before people are told (services/recovery.py).",
    )
    run_restart_pause_seconds: float = Field(
        default=15.0, description="Pause before the first restart; four times longer before each next one."
    )

    @property
    def prefect_api_url(self) -> str:
        """The API of the Prefect server `up` runs, for madoguchi's own parts with the service
        credential (used when PREFECT_API_URL is not set)."""
        return f"http://127.0.0.1:{self.prefect_internal_port}/api"

    @property
    def prefect_ui_url(self) -> str:
        """The Prefect UI (and API) as people reach it: through the gate, with their account."""
        return f"http://{self.prefect_host}:{self.prefect_port}"

    def service_auth(self) -> str:
        """The service credential (``name:password``) for the Prefect server `up` runs."""
        if self.prefect_service_auth is not None:
            return self.prefect_service_auth.get_secret_value()
        path = Path(self.data_dir) / SERVICE_AUTH_FILE
        if not path.exists():
            _write_private(path, [f"{SERVICE_ACCOUNT}:{new_key()}"], replace=False)
        return read_keyring(path)[0]

    audit_checkpoint_file: Path | None = Field(
        default=None,
        description=(
            "Append-only file where the SLA monitor signs the audit chain's head, outside the app "
            "database: data_dir/audit-checkpoints.jsonl."
        ),
    )

    @model_validator(mode="after")
    def _load_secret(self) -> "Settings":
        """Take the newest key of the keyring file (made on the first run) unless one is given;
        outside autopilot (demos and tests) refuse the development key."""
        if self.secret_key is None:
            keys = read_keyring(self.keyring_path)
            if not keys:
                _write_private(self.keyring_path, [new_key()], replace=False)
                keys = read_keyring(self.keyring_path)
            self.secret_key = SecretStr(keys[-1])
        if self.uses_dev_secret and not self.autopilot:
            raise ValueError(
                "MADOGUCHI_SECRET_KEY is the development default: unset it (a random "
                "key is made in the data folder) or set your own"
            )
        return self

    @property
    def secret(self) -> str:
        """The key new values are signed and sealed with: given, or the keyring's newest, which
        the validator has put in ``secret_key`` by the time anyone asks."""
        if self.secret_key is None:
            raise RuntimeError("Settings.secret_key is unset: the settings were built without validation")
        return self.secret_key.get_secret_value()

    @property
    def uses_dev_secret(self) -> bool:
        """The development key signs the audit chain and encrypts packages: fine for a demo,
        never for real data."""
        return self.secret == DEV_SECRET_KEY

    @property
    def keyring_path(self) -> Path:
        return Path(self.data_dir) / KEYRING_FILE

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoint_file or Path(self.data_dir) / "audit-checkpoints.jsonl"

    @property
    def key_id(self) -> str:
        """The id of the key new values are signed and sealed with."""
        return key_id(self.secret)

    def secrets(self) -> list[str]:
        """Every key that may have written something: the keyring's, oldest first, then the
        current one. Read afresh, so a long-running process sees a rotation made since."""
        current = self.secret
        return [key for key in read_keyring(self.keyring_path) if key != current] + [current]

    def secret_for(self, kid: str) -> str:
        """The key a stored value names; :class:`UnknownKey` if it is not ours."""
        if kid == self.key_id:
            return self.secret
        found = next((key for key in self.secrets() if key_id(key) == kid), None)
        if found is None:
            raise UnknownKey(f"key {kid} is not in the keyring")
        return found

    def rotate_secret(self) -> str:
        """Add a new random key to the keyring file and return it; the keys before it stay
        readable. A key given in the environment goes into the file too, so it stays readable
        once the variable is unset."""
        keys = read_keyring(self.keyring_path)
        given = self.secret
        keys += [] if given in keys else [given]
        keys.append(new_key())
        _write_private(self.keyring_path, keys, replace=True)
        return keys[-1]

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
