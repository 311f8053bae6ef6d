"""Two web processes share chat events through Redis (TELECONSULT_SOCKETIO_MESSAGE_QUEUE).

A doctor connected to one process and a patient connected to the other talk live; a
logout in one process stops the socket held by the other.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.testing import free_port, in_ci
from tests.chat.conftest import Browser, make_cast, wait_for

REDIS_URL = os.environ.get("TELECONSULT_TEST_CHAT_REDIS", "redis://127.0.0.1:6379/4")
ROOT = Path(__file__).resolve().parents[2]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def two_processes(app, tmp_path):
    if not _redis_up():
        if in_ci():
            pytest.fail("Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("Redis is not running")
    processes, urls = [], []
    for n in range(2):
        port = free_port()
        env = {
            **os.environ,
            "TELECONSULT_DATABASE_URL": app.config["DATABASE_URL"],
            "TELECONSULT_DATA_DIR": str(tmp_path / f"web{n}"),
            "TELECONSULT_SOCKETIO_MESSAGE_QUEUE": REDIS_URL,
            "TELECONSULT_CHAT_RECHECK_SECONDS": "0.5",
            "TELECONSULT_SECRET_KEY": app.config["SECRET_KEY"],
        }
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.chat.chat_server", str(port)], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, process in zip(urls, processes):
            port = int(url.rsplit(":", 1)[1])
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stdout.read()
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "web process did not start"
                    time.sleep(0.1)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def test_a_message_crosses_from_one_process_to_the_other(two_processes, factory, sockets):
    first, second = two_processes
    cast = make_cast(factory)
    doctor = Browser(first, "staff", cast.doctor_id)
    patient = Browser(second, "patient", cast.account_id)
    doctor_socket, patient_socket = doctor.socket(), patient.socket()
    sockets += [doctor_socket, patient_socket]
    assert doctor_socket.call("join", {"chat": cast.consultation_id})["ok"]
    assert patient_socket.call("join", {"chat": cast.consultation_id})["ok"]

    assert doctor_socket.send(cast.consultation_id, "Из первого процесса")["ok"]
    assert wait_for(lambda: patient_socket.received("message"))[0]["text"] == "Из первого процесса"
    wait_for(lambda: [u for u in patient_socket.received("unread") if u["unread"] == 1])
    assert patient_socket.send(cast.consultation_id, "Из второго процесса")["ok"]
    wait_for(lambda: [m for m in doctor_socket.received("message") if m["text"] == "Из второго процесса"])

    # The patient logs out through the first process; the socket on the second one stops.
    on_first = Browser(first)
    on_first.http.cookies.update(patient.http.cookies)
    response = on_first.http.post(f"{first}/logout", data={"csrf_token": on_first.csrf()}, allow_redirects=False)
    assert response.status_code == 302
    wait_for(lambda: not patient_socket.connected, timeout=30)
