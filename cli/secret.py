"""``madoguchi secret``: the keys that sign the audit chain, codes and tokens and seal packages
and documents. Every stored value names its key's id, so a rotation loses nothing: the older
keys stay in the keyring file, readable, and new writes use the newest."""

import typer

from models.audit import audit_key, record
from models.db import unit_of_work, utcnow
from models.schema import upgrade
from models.settings import Settings, get_settings, key_id

app = typer.Typer(no_args_is_help=True, help="The secret key and its keyring.")


@app.command("list")
def list_keys() -> None:
    """The ids of the keys that can read, oldest first, and the one new writes use."""
    settings = get_settings()
    for secret in settings.secrets():
        mark = "  (current)" if key_id(secret) == settings.key_id else ""
        typer.echo(f"{key_id(secret)}{mark}")


@app.command()
def rotate() -> None:
    """Add a new random key to the keyring; new writes use it once the processes restart."""
    settings = get_settings()
    upgrade(settings)
    previous = settings.key_id
    new = key_id(settings.rotate_secret())  # the file first: an event must not name a key we lack
    with unit_of_work(settings) as session:
        record(
            session,
            key=audit_key(settings.secret_for(new)),
            at=utcnow(),
            actor="cli",
            action="secret.rotated",
            subject_ref="secret",
            details={"key_id": new, "previous": previous},
        )
    typer.echo(f"new key {new} in {settings.keyring_path}; {previous} and older keys still read")
    if Settings().key_id != new:
        typer.secho(
            "MADOGUCHI_SECRET_KEY is set and stays the key new writes use: unset it for the "
            f"new key to take over (the old one is kept in {settings.keyring_path})",
            fg=typer.colors.YELLOW,
            err=True,
        )
    typer.echo("restart `madoguchi up` so that every process signs and seals with the new key")
