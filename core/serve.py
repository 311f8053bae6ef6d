"""A single production-style server process: ``python -m core.serve [--async-mode gevent]``.

gevent and eventlet must patch the standard library before anything else is imported
(``core.green.patch``, which also chooses psycopg's pure Python implementation), which is
why this is a module of its own and not a subcommand of ``teleconsult``.

- ``--async-mode gevent``: gevent's WSGI server, websockets over the patched sockets;
  thousands of sockets a process;
- ``--async-mode eventlet``: the same with eventlet (deprecated by its maintainers);
- ``--async-mode threading``: Werkzeug's threaded server, for a quick look only; behind a
  proxy use gunicorn with ``config/gunicorn.py`` (docs/deployment.md).

SIGTERM stops accepting and lets open requests finish (systemd's stop and restart);
gunicorn (``config/gunicorn.py``) also reloads on SIGHUP without closing its listening
socket.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--async-mode", choices=("threading", "gevent", "eventlet"), default="threading")
    args = parser.parse_args(argv)

    from core.green import patch

    patch(args.async_mode)

    from core.app import create_app
    from core.heap import settle_heap
    from core.extensions import socketio
    from core.headers import server_options
    from core.settings import SettingsError

    try:
        app = create_app({"SOCKETIO_ASYNC_MODE": args.async_mode})
    except SettingsError as error:
        sys.exit(f"cannot serve: {error}")
    settle_heap()
    print(f"serving on http://{args.host}:{args.port}/ ({args.async_mode}{_psycopg()})", flush=True)
    socketio(app).run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False,
                      **server_options(args.async_mode))


def _psycopg() -> str:
    psycopg = sys.modules.get("psycopg")
    return f"; psycopg {psycopg.pq.__impl__}" if psycopg is not None else ""


if __name__ == "__main__":
    main()
