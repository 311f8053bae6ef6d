"""Settings: one reader, environment overrides, unsafe production refused."""

from datetime import timedelta

import pytest

from core.settings import SettingsError, check_production, load


def test_environment_variables_override_and_are_typed():
    settings = load(
        "development",
        environ={
            "TELECONSULT_LOGIN_MAX_FAILURES": "7",
            "TELECONSULT_PLUGINS_DISABLED": "video, esia",
            "TELECONSULT_SESSION_COOKIE_SECURE": "true",
            "TELECONSULT_PERMANENT_SESSION_LIFETIME": "600",
        },
    )
    assert settings["LOGIN_MAX_FAILURES"] == 7
    assert settings["PLUGINS_DISABLED"] == ["video", "esia"]
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(seconds=600)


def test_order_defaults_plugins_environment_env_vars_explicit():
    settings = load(
        "development",
        overrides={"LOG_LEVEL": "DEBUG"},
        plugin_defaults={"CHAT_PAGE_SIZE": 50, "DEMO_DATA": False},
        environ={"TELECONSULT_CHAT_PAGE_SIZE": "20", "TELECONSULT_LOG_LEVEL": "WARNING"},
    )
    assert settings["CHAT_PAGE_SIZE"] == 20
    assert settings["DEMO_DATA"] is True  # config.development wins over plugin defaults
    assert settings["LOG_LEVEL"] == "DEBUG"


def test_embedded_default_is_sqlite_in_the_data_folder(tmp_path):
    settings = load("development", overrides={"DATA_DIR": str(tmp_path)}, environ={})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'teleconsult.sqlite3'}"
    assert settings["STORAGE_DIR"] == str(tmp_path / "files")


def test_unknown_environment_is_refused():
    with pytest.raises(SettingsError):
        load("staging", environ={})


def test_production_refuses_unsafe_settings():
    settings = load("production", environ={})
    with pytest.raises(SettingsError) as error:
        check_production(settings)
    message = str(error.value)
    assert "SECRET_KEY" in message and "PostgreSQL" in message


def test_production_refuses_what_plugins_object_to():
    settings = load(
        "production",
        environ={
            "TELECONSULT_SECRET_KEY": "x" * 40,
            "TELECONSULT_DATABASE_URL": "postgresql+psycopg://db/teleconsult",
        },
    )
    check_production(settings)
    with pytest.raises(SettingsError, match="development IdP"):
        check_production(settings, ["development IdP is enabled"])
