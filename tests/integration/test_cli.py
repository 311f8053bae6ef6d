"""The command line: `teleconsult run` on a fresh checkout, plugins, demo data."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.testing import free_port


def teleconsult_command() -> list[str]:
    script = Path(sys.executable).parent / "teleconsult"
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELECONSULT_")}
    env.update(TELECONSULT_DATA_DIR=str(tmp_path / "instance"), TELECONSULT_ENV="development")
    return env


def test_run_answers_the_login_page(tmp_path):
    """A fresh data folder: migrations, demo data, then the login page (start-up speed is
    measured by bench/, not here: the deadline only ends a hung start)."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [*teleconsult_command(), "run", "--port", str(port)],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = None
        while time.monotonic() - started < 300 and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert page is not None, f"no login page (exit code {process.poll()})"
        assert "Войти" in page
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "demo data loaded" in output
    assert f"http://127.0.0.1:{port}/" in output and "terapevt" in output


def _teleconsult(tmp_path, *args, env=None, timeout=120):
    return subprocess.run(
        [*teleconsult_command(), *args], cwd=tmp_path, env=env or _env(tmp_path),
        capture_output=True, text=True, timeout=timeout,
    )


def _plugin_rows(stdout: str) -> dict[str, list[str]]:
    """``teleconsult plugins``: {name: [its row, then its per-organisation lines]}."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith(" "):
            rows[list(rows)[-1]].append(line.strip())
        elif line.strip():
            rows[line.split()[0]] = [line]
    return rows


def test_plugins_and_demo_data_commands(tmp_path):
    import sqlite3

    env = _env(tmp_path)
    loaded = _teleconsult(tmp_path, "demo-data", "--patients", "50")
    assert loaded.returncode == 0, loaded.stderr
    assert "patients=55" in loaded.stdout  # 50 and the registry records of the portal demo persons
    again = _teleconsult(tmp_path, "demo-data")
    assert again.returncode != 0 and "empty" in again.stderr

    listing = _teleconsult(tmp_path, "plugins")
    assert listing.returncode == 0, listing.stderr
    rows = _plugin_rows(listing.stdout)
    assert list(rows) == ["core", "chat", "conclusion_upload", "esia", "esignature", "guardian", "notifications", "routes_covid", "video"]
    assert all("enabled" in row[0] and "disabled" not in row[0] for row in rows.values())

    # A comma-separated list in the environment loads exactly those plugins.
    some = _teleconsult(tmp_path, "plugins", env={**env, "TELECONSULT_PLUGINS_ENABLED": "chat,esia"})
    assert some.returncode == 0, some.stderr
    rows = _plugin_rows(some.stdout)
    assert set(rows) == {"core", "chat", "conclusion_upload", "esia", "esignature", "guardian", "notifications", "routes_covid", "video"}
    for name in ("core", "chat", "esia"):
        assert "enabled" in rows[name][0] and "disabled" not in rows[name][0], rows[name]
    for name in ("conclusion_upload", "notifications"):
        assert "disabled by settings" in rows[name][0], rows[name]

    # The operator's switches: the deployment's, and an organisation's override.
    database = sqlite3.connect(tmp_path / "instance" / "teleconsult.sqlite3")
    with database:
        organisation_id, short_name = database.execute("SELECT id, short_name FROM organisations").fetchone()
        database.execute(
            "INSERT INTO plugin_states (plugin, organisation_id, enabled, updated_at) VALUES "
            "('esia', NULL, 0, CURRENT_TIMESTAMP), ('esia', ?, 1, CURRENT_TIMESTAMP)",
            (organisation_id,),
        )
    database.close()
    rows = _plugin_rows(_teleconsult(tmp_path, "plugins").stdout)
    assert "switched off by the operator" in rows["esia"][0]
    assert rows["esia"][1:] == [f"switched on for organisation {organisation_id} ({short_name})"]
    assert rows["chat"][1:] == []

    # Disabling a plugin whose branch is migrated leaves `db upgrade` (and `run`) working.
    upgraded = _teleconsult(tmp_path, "db", "upgrade", env={**env, "TELECONSULT_PLUGINS_DISABLED": "chat"})
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database is up to date" in upgraded.stdout


def test_a_setting_of_the_wrong_type_stops_the_start_with_a_message(tmp_path):
    result = _teleconsult(tmp_path, "plugins", env={**_env(tmp_path), "TELECONSULT_LOGIN_MAX_FAILURES": "five"})
    assert result.returncode != 0
    assert "TELECONSULT_LOGIN_MAX_FAILURES must be an integer, got 'five'" in result.stderr
    assert "Traceback" not in result.stderr

