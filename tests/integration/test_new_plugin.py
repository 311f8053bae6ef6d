"""``teleconsult new-plugin NAME`` writes a route plugin whose own test passes (F2)."""

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_new_plugin_writes_a_skeleton_whose_test_passes(tmp_path):
    target = tmp_path / "angina_route"
    result = CliRunner().invoke(main, ["new-plugin", "angina_route", "--directory", str(target), "--title", "Ангина"])
    assert result.exit_code == 0, result.output
    assert (target / "angina_route" / "schemas.py").exists() and (target / "pyproject.toml").exists()
    assert 'angina_route = "angina_route"' in (target / "pyproject.toml").read_text()
    again = CliRunner().invoke(main, ["new-plugin", "angina_route", "--directory", str(target)])
    assert again.exit_code != 0 and "already exists" in again.output
    assert CliRunner().invoke(main, ["new-plugin", "Bad-Name"]).exit_code != 0
    env = {k: v for k, v in os.environ.items() if k not in ("TELECONSULT_TEST_POSTGRES",)}
    env["PYTHONPATH"] = f"{target}{os.pathsep}{ROOT}"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=target, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    # the skeleton's one test, on each database backend of this run; nothing skipped
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary
