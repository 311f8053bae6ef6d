"""The one place that reads settings.

Order, later wins: ``config.defaults`` -> plugin defaults (hook
``teleconsult_config_defaults``) -> ``config.<environment>`` -> ``TELECONSULT_*``
environment variables -> the mapping passed to ``create_app``.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ENV_PREFIX = "TELECONSULT_"
ENVIRONMENTS = ("development", "testing", "production")


class SettingsError(RuntimeError):
    """Raised when settings are inconsistent or unsafe for the environment."""


def environment_name(explicit: str | None = None) -> str:
    name = explicit or os.environ.get(ENV_PREFIX + "ENV") or "development"
    if name not in ENVIRONMENTS:
        raise SettingsError(f"unknown environment {name!r}; expected one of {ENVIRONMENTS}")
    return name


def _module_settings(module_name: str) -> dict[str, Any]:
    module = importlib.import_module(module_name)
    return {k: getattr(module, k) for k in dir(module) if k.isupper()}


def _coerce(raw: str, current: Any) -> Any:
    """Turn an environment string into the type of the default it overrides."""
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, timedelta):
        return timedelta(seconds=int(raw))
    if isinstance(current, list) or (current is None and raw.startswith("[")):
        if raw.startswith("["):
            return json.loads(raw)
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(current, dict):
        return json.loads(raw)
    return raw


def load(
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    plugin_defaults: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    env = environment_name(environment or (overrides or {}).get("ENV"))
    settings = _module_settings("config.defaults")
    settings.update(plugin_defaults or {})
    settings.update(_module_settings(f"config.{env}"))
    environ = os.environ if environ is None else environ
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "ENV":
            name = key[len(ENV_PREFIX):]
            settings[name] = _coerce(raw, settings.get(name))
    settings.update(overrides or {})
    settings["ENV"] = env
    _derive(settings)
    return settings


def _derive(settings: dict[str, Any]) -> None:
    """Fill the settings that follow from others."""
    data_dir = Path(settings["DATA_DIR"]).absolute()
    settings["DATA_DIR"] = str(data_dir)
    if not settings.get("DATABASE_URL"):
        settings["DATABASE_URL"] = f"sqlite:///{data_dir / 'teleconsult.sqlite3'}"
    settings["SQLALCHEMY_DATABASE_URI"] = settings["DATABASE_URL"]
    if not settings.get("STORAGE_DIR"):
        settings["STORAGE_DIR"] = str(data_dir / "files")
    engine_options = dict(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if settings["DATABASE_URL"].startswith("sqlite"):
        # Writers wait for each other instead of failing at once.
        engine_options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    # Other databases: no pool_pre_ping (a round trip before every request); idle
    # connections are checked instead (core.db.ping_when_idle).
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options


def check_production(settings: Mapping[str, Any], plugin_problems: list[str] = ()) -> None:
    """Refuse unsafe production settings before anything is served.

    ``plugin_problems`` are what plugins found (hook ``teleconsult_config_check``).
    """
    if settings["ENV"] != "production":
        return
    problems = list(plugin_problems)
    if settings.get("SECRET_KEY") in (None, "", "change-me") or len(settings["SECRET_KEY"]) < 32:
        problems.append("TELECONSULT_SECRET_KEY must be a random string of at least 32 characters")
    if settings["DATABASE_URL"].startswith("sqlite"):
        problems.append("TELECONSULT_DATABASE_URL must point to PostgreSQL in production")
    if not settings.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE must be on in production")
    if problems:
        raise SettingsError("unsafe production settings: " + "; ".join(problems))
