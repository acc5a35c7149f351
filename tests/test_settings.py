from models.settings import Settings


def test_settings_read_madoguchi_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", "s3cret")
    settings = Settings()
    assert settings.app_database_url == f"sqlite:///{tmp_path / 'madoguchi.sqlite'}"
    assert settings.system_database_url("billing").endswith("systems/billing.sqlite")
    assert "s3cret" not in repr(settings)
    assert settings.secret_key.get_secret_value() == "s3cret"
