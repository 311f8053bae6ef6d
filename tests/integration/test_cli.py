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


def test_run_answers_the_login_page_within_30_seconds(tmp_path):
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
        while time.monotonic() - started < 30 and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert page is not None, "no login page within 30 s"
        assert "Войти" in page
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    assert "demo data loaded" in output
    assert f"http://127.0.0.1:{port}/" in output and "terapevt" in output


def test_plugins_and_demo_data_commands(tmp_path):
    env = _env(tmp_path)
    loaded = subprocess.run([*teleconsult_command(), "demo-data", "--patients", "50"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert "patients=55" in loaded.stdout  # 50 and the registry records of the portal demo persons
    again = subprocess.run([*teleconsult_command(), "demo-data"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "empty" in again.stderr
    listing = subprocess.run([*teleconsult_command(), "plugins"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[0].startswith("core")
    disabled = subprocess.run(
        [*teleconsult_command(), "plugins"], cwd=tmp_path, env={**env, "TELECONSULT_PLUGINS_ENABLED": "[]"},
        capture_output=True, text=True, timeout=60,
    )
    assert "enabled" in disabled.stdout and len(disabled.stdout.splitlines()) <= len(listing.stdout.splitlines())
