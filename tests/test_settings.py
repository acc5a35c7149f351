import pytest
from pydantic import ValidationError

from models.settings import DEV_SECRET_KEY, Settings, UnknownKey


def test_settings_read_madoguchi_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "s3cret")
    settings = Settings()
    assert settings.app_database_url == f"sqlite:///{tmp_path / 'madoguchi.sqlite'}"
    assert settings.system_database_url("billing").endswith("systems/billing.sqlite")
    assert "s3cret" not in repr(settings)
    assert settings.secret_key.get_secret_value() == "s3cret"


def test_the_first_run_makes_one_private_random_key_that_every_process_reads(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("MADOGUCHI_SECRET_KEY", raising=False)
    with ThreadPoolExecutor(8) as pool:  # processes starting at once agree on one key
        ids = set(pool.map(lambda _: Settings(data_dir=tmp_path / "data").key_id, range(8)))
    path = tmp_path / "data" / "secret.key"
    assert len(ids) == 1 and oct(path.stat().st_mode & 0o777) == "0o600"
    (key,) = path.read_text().split()
    assert len(key) >= 43 and Settings(data_dir=tmp_path / "data").secret_key.get_secret_value() == key
    assert not list(path.parent.glob(".secret.key.*"))  # no temporary file left behind


def test_a_given_key_wins_and_writes_no_file(tmp_path):
    assert Settings(data_dir=tmp_path, secret_key="given").secret_key.get_secret_value() == "given"
    assert not (tmp_path / "secret.key").exists()


def test_the_development_key_is_refused_outside_autopilot(tmp_path):
    with pytest.raises(ValidationError, match="development default") as refused:
        Settings(data_dir=tmp_path, secret_key=DEV_SECRET_KEY)
    assert DEV_SECRET_KEY not in str(refused.value).replace("the development default", "")
    assert Settings(data_dir=tmp_path, secret_key=DEV_SECRET_KEY, autopilot=True).uses_dev_secret


def test_a_keyring_others_can_read_is_refused(tmp_path):
    Settings(data_dir=tmp_path)
    (tmp_path / "secret.key").chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Settings(data_dir=tmp_path)


def test_rotation_adds_a_newest_key_and_keeps_the_older_ones(tmp_path):
    first = Settings(data_dir=tmp_path)
    first.rotate_secret()
    second = Settings(data_dir=tmp_path)
    assert second.key_id != first.key_id
    assert second.secret_for(first.key_id) == first.secret_key.get_secret_value()
    assert oct((tmp_path / "secret.key").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(UnknownKey):
        second.secret_for("00000000")
