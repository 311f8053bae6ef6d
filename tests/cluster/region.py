"""A region on loopback, built from the files in deploy/ (docs/deployment.md).

What runs is what the deployment ships, with test ports and paths put in:

- ``haproxy_config``: deploy/haproxy/haproxy.cfg with the listening addresses, the
  certificate, the web processes' ports and the admin socket replaced (and the lines that
  only make sense under systemd as root: user, group, daemon, syslog). Every replacement
  must match the shipped file, so a change there that the test does not know stops it
  instead of testing something else.
- ``unit_command``: the ``ExecStart`` of a deploy/systemd unit, with systemd's
  specifiers (``%i``, ``%%``) expanded as systemd would and the virtualenv's scripts.
- ``deployment_env``: deploy/teleconsult.env with the region's addresses replaced by
  the test's services; every other value (the async mode, the task routes, the
  gunicorn sizes) is the shipped one.

``Service`` is a process in a process group of its own, stopped (the whole group) by
the fixtures' finalisers even when a test fails.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):
    """Poll ``predicate`` until it is truthy (its value) or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _replace(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    """Replace a regex that must match the shipped file exactly ``count`` times."""
    found = len(re.findall(pattern, text, flags=re.MULTILINE))
    if found != count:
        raise AssertionError(f"deploy file changed: {pattern!r} matched {found} times, expected {count}")
    return re.sub(pattern, replacement, text, flags=re.MULTILINE)


def haproxy_config(*, http_port: int, https_port: int, certificate: Path, web_ports: list[int],
                   admin_socket: Path) -> str:
    text = (DEPLOY / "haproxy" / "haproxy.cfg").read_text()
    text = _replace(text, r"^\s*user haproxy\n", "")
    text = _replace(text, r"^\s*group haproxy\n", "")
    text = _replace(text, r"^\s*daemon\n", "")
    text = _replace(text, r"^(\s*)log /dev/log local0\n", r"\1log stdout format short local0\n")
    text = _replace(text, r"stats socket /run/haproxy/admin\.sock", f"stats socket {admin_socket}")
    text = _replace(text, r"^(\s*)bind :80\n", rf"\1bind 127.0.0.1:{http_port}\n")
    text = _replace(text, r"^(\s*)bind :443 ssl crt /etc/haproxy/certs/teleconsult\.pem",
                    rf"\1bind 127.0.0.1:{https_port} ssl crt {certificate}")
    servers = re.findall(r"^\s*server (web\d) 127\.0\.0\.1:\d+ ", text, flags=re.MULTILINE)
    if servers != ["web1", "web2", "web3"]:
        raise AssertionError(f"deploy/haproxy/haproxy.cfg: expected servers web1..web3, found {servers}")
    for name, port in zip(servers, web_ports, strict=True):
        text = _replace(text, rf"^(\s*server {name}) 127\.0\.0\.1:\d+ ", rf"\1 127.0.0.1:{port} ")
    return text


def unit_command(unit: str, instance: str) -> list[str]:
    """The ``ExecStart`` of ``deploy/systemd/<unit>`` as systemd runs it for ``instance``."""
    lines = [line for line in (DEPLOY / "systemd" / unit).read_text().splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, f"{unit}: one ExecStart expected"
    command = lines[0].removeprefix("ExecStart=")
    # systemd's specifiers: %i the instance, %H the host name, %% a percent sign.
    command = re.sub(r"%(.)", lambda m: {"i": instance, "H": socket.gethostname(), "%": "%"}[m.group(1)], command)
    argv = shlex.split(command)
    program = Path(argv[0])
    assert program.parent == Path("/srv/teleconsult/.venv/bin"), argv[0]
    return [str(VENV_BIN / program.name), *argv[1:]]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key] = value
    return values


def deployment_env(overrides: dict[str, str]) -> dict[str, str]:
    """The shipped settings with ``overrides``; each override must be a setting the
    shipped file sets, or a tuning of this test named in ``TEST_TUNING``."""
    shipped = read_env_file(DEPLOY / "teleconsult.env")
    unknown = [k for k in overrides if k not in shipped and k not in TEST_TUNING]
    assert not unknown, f"not in deploy/teleconsult.env: {unknown}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELECONSULT_") and k != "PSYCOPG_IMPL"}
    env.update(shipped)
    env.update(overrides)
    env["PYTHONPATH"] = str(ROOT)
    return env


# Settings the test shortens so that a lost send is taken over within seconds, not the
# shipped minutes (the lease and the sweep), and where it finds its own CA.
TEST_TUNING = {
    "TELECONSULT_NOTIFICATIONS_SMTP_TIMEOUT",
    "TELECONSULT_NOTIFICATIONS_SEND_LEASE_SECONDS",
    "TELECONSULT_NOTIFICATIONS_SWEEP_SECONDS",
    "TELECONSULT_NOTIFICATIONS_DISPATCH_LEASE_SECONDS",
    "TELECONSULT_NOTIFICATIONS_RETRY_BASE_SECONDS",
    "TELECONSULT_NOTIFICATIONS_SMTP_CA_FILE",
    "TELECONSULT_NOTIFICATIONS_REMINDER_MINUTES",
    "TELECONSULT_NOTIFICATIONS_CHANNELS",
    "TELECONSULT_SESSION_RECHECK_SECONDS",
}


class StandInEsiaSigner:
    """ESIA_SIGNER of the test region: production refuses the development signer, and no
    ESIA login happens in the test (patients' sessions are made by the test)."""

    certificate_hash = "0" * 64

    def __init__(self, settings) -> None:
        self.settings = settings

    def sign(self, data: bytes) -> bytes:
        raise RuntimeError("the test region does not log in through ESIA")


class Service:
    """A process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> Service:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a lost machine would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(20)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM the group (what systemd's stop does), SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:  # the group may outlive its leader (a pool process, a gunicorn worker)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(20)

    def descendants(self) -> list[int]:
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    children = [int(p) for p in (task / "children").read_text().split()]
                    found += children
                    queue += children
            except OSError:
                continue
        return found

    def connected_to(self, port: int) -> bool:
        """Whether a process of this group holds an established TCP connection to ``port``."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    inodes.add(f"socket:[{fields[9]}]")
        for pid in [self.process.pid, *self.descendants()]:
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        if os.readlink(fd) in inodes:
                            return True
                    except OSError:
                        continue
            except OSError:
                continue
        return False


def make_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key, both in one PEM for HAProxy)."""
    cert, key, combined = folder / "cert.pem", folder / "key.pem", folder / "haproxy.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    return cert, key, combined


def haproxy_servers(admin_socket: Path) -> dict[str, str]:
    """``{server name: status}`` of backend ``web`` from HAProxy's admin socket."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(admin_socket))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    result = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row.get("pxname") == "web" and row.get("svname", "").startswith("web"):
            result[row["svname"]] = row["status"]
    return result
