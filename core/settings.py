"""The one place that reads settings.

Order, later wins: ``config.defaults`` -> plugin defaults (hook
``teleconsult_register_config_defaults``) -> ``config.<environment>`` -> ``TELECONSULT_*``
environment variables -> the mapping passed to ``create_app``.
"""

from __future__ import annotations

import importlib
import json
import os
import types
import typing
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


def declared_types(defaults: Mapping[str, Any], annotations: Mapping[str, Any]) -> dict[str, Any]:
    """The type of each setting: its annotation in ``config.defaults`` (the only way to
    type a setting whose default is None), else the type of its default value."""
    found = {key: type(value) for key, value in defaults.items() if value is not None}
    found.update({key: hint for key, hint in annotations.items() if key.isupper()})
    return found


def _optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], len(args) < len(typing.get_args(hint))
    return hint, False


_NAMES = {bool: ("true or false", "booleans"), int: ("an integer", "integers"), float: ("a number", "numbers"),
          str: ("a string", "strings"), timedelta: ("a number of seconds", "durations"), dict: ("a JSON object", "objects")}


def _describe(hint: Any) -> str:
    inner, optional = _optional(hint)
    origin = typing.get_origin(inner) or inner
    if origin is list:
        (item,) = typing.get_args(inner) or (Any,)
        text = "a list" if item is Any else f"a list of {_NAMES.get(item, ('', item.__name__))[1]}"
    else:
        text = _NAMES.get(origin, (getattr(origin, "__name__", str(origin)),))[0]
    return text + (" or null" if optional else "")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _coerce(raw: str, hint: Any) -> Any:
    """Turn an environment string into the declared type of the setting.

    Lists are comma-separated (``video, esia``) or JSON (``["video"]``); dicts are JSON;
    ``null`` is None where the setting allows it. Raises ValueError when the string
    cannot be read as that type.
    """
    if hint is None:
        return raw
    inner, optional = _optional(hint)
    if optional and raw.strip().lower() == "null":
        return None
    origin = typing.get_origin(inner) or inner
    text = raw.strip()
    if origin is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(raw)
    if origin is int:
        return int(text)
    if origin is float:
        return float(text)
    if origin is timedelta:
        return timedelta(seconds=float(text))
    if origin is list:
        (item,) = typing.get_args(inner) or (str,)
        values = json.loads(text) if text.startswith("[") else [p.strip() for p in text.split(",") if p.strip()]
        if not isinstance(values, list):
            raise ValueError(raw)
        return [_coerce(v, item) if isinstance(v, str) and item is not str else v for v in values]
    if origin is dict:
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError(raw)
        return value
    return raw


def _matches(value: Any, hint: Any) -> bool:
    inner, optional = _optional(hint)
    if value is None:
        return optional
    origin = typing.get_origin(inner) or inner
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(inner))
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is list:
        (item,) = typing.get_args(inner) or (Any,)
        return isinstance(value, (list, tuple)) and (item is Any or all(_matches(v, item) for v in value))
    if isinstance(origin, type):
        return isinstance(value, origin)
    return True  # an annotation this reader does not know: trust it


_SECRET = ("PASSWORD", "SECRET", "TOKEN", "KEY")


def _shown(name: str, value: Any) -> str:
    if any(word in name for word in _SECRET):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load(
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    plugin_defaults: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read the settings; raise ``SettingsError`` for a value of the wrong type."""
    env = environment_name(environment or (overrides or {}).get("ENV"))
    defaults = _module_settings("config.defaults")
    hints = declared_types(
        {**(plugin_defaults or {}), **defaults}, typing.get_type_hints(importlib.import_module("config.defaults"))
    )
    settings = dict(defaults)
    origin = dict.fromkeys(settings, "config/defaults.py")
    for source, values in (
        ("a plugin's defaults", plugin_defaults or {}),
        (f"config/{env}.py", _module_settings(f"config.{env}")),
    ):
        settings.update(values)
        origin.update(dict.fromkeys(values, source))
    environ = os.environ if environ is None else environ
    problems = []
    for key, raw in environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "ENV":
            name = key[len(ENV_PREFIX):]
            try:
                settings[name] = _coerce(raw, hints.get(name))
            except ValueError:
                problems.append(f"{key} must be {_describe(hints[name])}, got {_shown(name, raw)}")
                continue
            origin[name] = key
    settings.update(overrides or {})
    origin.update(dict.fromkeys(overrides or {}, "the settings given to create_app"))
    for name, hint in hints.items():
        if name in settings and not _matches(settings[name], hint):
            problems.append(
                f"{name} (from {origin.get(name)}) must be {_describe(hint)}, got {_shown(name, settings[name])}"
            )
    if problems:
        raise SettingsError("invalid settings: " + "; ".join(problems))
    settings["ENV"] = env
    _derive(settings)
    check_async_mode(settings)
    return settings


ASYNC_MODES = ("threading", "gevent", "eventlet")


def check_async_mode(settings: Mapping[str, Any]) -> None:
    """Refuse what Socket.IO's mode cannot run with, wherever the app is built
    (``teleconsult run``, gunicorn, ``python -m core.serve``, a Celery worker)."""
    mode = settings.get("SOCKETIO_ASYNC_MODE")
    if mode not in ASYNC_MODES:
        raise SettingsError(f"SOCKETIO_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, got {mode!r}")
    if mode in ("gevent", "eventlet") and settings["DATABASE_URL"].startswith("sqlite"):
        raise SettingsError(
            f"SOCKETIO_ASYNC_MODE={mode} needs PostgreSQL (TELECONSULT_DATABASE_URL): SQLite writers "
            f"deadlock under {mode}; use the threading mode with SQLite"
        )


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
    # A failed statement's message then shows no bound values: SNILS and policy numbers
    # are query parameters, and error messages end up in logs.
    engine_options.setdefault("hide_parameters", True)
    if settings["DATABASE_URL"].startswith("sqlite"):
        # Writers wait for each other instead of failing at once.
        engine_options.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    # Other databases: no pool_pre_ping (a round trip before every request); idle
    # connections are checked instead (core.db.ping_when_idle).
    settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options


def import_named(settings: Mapping[str, Any], key: str) -> Any:
    """The object a setting names as ``package.module:Name`` (a storage backend, a
    signer); ``SettingsError`` when the setting does not name one."""
    from werkzeug.utils import ImportStringError, import_string

    path = settings.get(key) or ""
    if ":" not in path:
        raise SettingsError(f"{key} must look like 'package.module:Class', not {path!r}")
    try:
        return import_string(path)
    except ImportStringError as error:
        raise SettingsError(f"{key}: cannot import {path!r} ({error.exception})") from None


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
