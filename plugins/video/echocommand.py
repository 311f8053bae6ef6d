"""``teleconsult video-echo``: the echo test's server peer with the app's settings.

The app is read only for its settings; the server peer then replaces this process
(``exec``) with a fresh interpreter running ``plugins.video.echo``, so aiortc never
shares a process with anything the app loaded (or a green library patched).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext


def echo_argv(config) -> list[str]:
    """The command line of the echo process for these settings (also what
    ``teleconsult run`` starts as its child)."""
    address = urlsplit(config["VIDEO_ECHO_URL"])
    argv = [sys.executable, "-m", "plugins.video.echo", "--host", address.hostname or "127.0.0.1",
            "--port", str(address.port or 80), "--max-sessions", str(int(config["VIDEO_ECHO_MAX_SESSIONS"])),
            "--seconds", str(float(config["VIDEO_ECHO_SECONDS"]))]
    for host in config["VIDEO_ECHO_HOST_ADDRESSES"]:
        argv += ["--host-address", host]
    return argv


@click.command("video-echo")
@with_appcontext
def video_echo_command():
    """The echo test's server peer (aiortc) at VIDEO_ECHO_URL, in a process of its own."""
    argv = echo_argv(current_app.config)
    sys.stdout.flush()
    os.execv(argv[0], argv)
