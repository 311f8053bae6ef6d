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


def test_list_settings_with_a_none_default_read_comma_separated_values():
    """``PLUGINS_ENABLED`` defaults to None: its declared type says how to read it."""
    settings = load("development", environ={"TELECONSULT_PLUGINS_ENABLED": "chat,esia"})
    assert settings["PLUGINS_ENABLED"] == ["chat", "esia"]
    assert load("development", environ={"TELECONSULT_PLUGINS_ENABLED": "[]"})["PLUGINS_ENABLED"] == []
    assert load("development", environ={"TELECONSULT_PLUGINS_ENABLED": "null"})["PLUGINS_ENABLED"] is None
    origins = load("development", environ={"TELECONSULT_SOCKETIO_CORS_ALLOWED_ORIGINS": "https://a.ru, https://b.ru"})
    assert origins["SOCKETIO_CORS_ALLOWED_ORIGINS"] == ["https://a.ru", "https://b.ru"]
    assert load("development", environ={"TELECONSULT_WTF_CSRF_TIME_LIMIT": "3600"})["WTF_CSRF_TIME_LIMIT"] == 3600


def test_an_environment_value_that_is_not_of_the_type_is_refused():
    with pytest.raises(SettingsError) as error:
        load("development", environ={"TELECONSULT_SESSION_COOKIE_SECURE": "maybe", "TELECONSULT_LOGIN_MAX_FAILURES": "five"})
    message = str(error.value)
    assert "TELECONSULT_SESSION_COOKIE_SECURE must be true or false, got 'maybe'" in message
    assert "TELECONSULT_LOGIN_MAX_FAILURES must be an integer, got 'five'" in message


def test_a_given_value_of_the_wrong_type_is_refused_and_secrets_are_not_shown():
    with pytest.raises(SettingsError) as error:
        load("development", overrides={"PLUGINS_DISABLED": "chat", "PLUGINS_ENABLED": ["chat", 3], "SECRET_KEY": 12345678})
    message = str(error.value)
    assert "PLUGINS_DISABLED (from the settings given to create_app) must be a list of strings, got 'chat'" in message
    assert "PLUGINS_ENABLED (from the settings given to create_app) must be a list of strings or null" in message
    assert "SECRET_KEY" in message and "12345678" not in message


def test_plugin_defaults_type_their_settings():
    settings = load("development", plugin_defaults={"CHAT_PAGE_SIZE": 50}, environ={"TELECONSULT_CHAT_PAGE_SIZE": "20"})
    assert settings["CHAT_PAGE_SIZE"] == 20
    with pytest.raises(SettingsError, match="CHAT_PAGE_SIZE must be an integer"):
        load("development", plugin_defaults={"CHAT_PAGE_SIZE": 50}, environ={"TELECONSULT_CHAT_PAGE_SIZE": "many"})


def test_comma_separated_plugins_enabled_loads_those_plugins(tmp_path, monkeypatch):
    from core.app import create_app

    monkeypatch.setenv("TELECONSULT_PLUGINS_ENABLED", "chat,esia")
    app = create_app({"DATA_DIR": str(tmp_path)}, environment="testing")
    assert set(app.extensions["teleconsult.pm"].info) == {"core", "chat", "esia"}
