"""A single production-style server process: ``python -m core.serve [--async-mode eventlet]``.

Eventlet must patch the standard library before anything else is imported, which is why
this is a module of its own and not a subcommand of ``teleconsult``; so must psycopg's
pure Python implementation be chosen (``PSYCOPG_IMPL=python``). gunicorn 26 and later
have no eventlet worker: in eventlet mode this is the server. In threading mode, behind
a proxy, prefer gunicorn with ``config/gunicorn.py`` (README, «Production deployment»).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--async-mode", choices=("threading", "eventlet"), default="threading")
    args = parser.parse_args(argv)
    if args.async_mode == "eventlet":
        # psycopg's C build blocks the eventlet hub for the length of a query; its pure
        # Python one (over the system's libpq) yields. Chosen before psycopg is imported.
        os.environ.setdefault("PSYCOPG_IMPL", "python")
        import eventlet

        eventlet.monkey_patch()

    from core.app import create_app, settle_heap
    from core.extensions import socketio
    from core.settings import SettingsError

    try:
        app = create_app({"SOCKETIO_ASYNC_MODE": args.async_mode})
    except SettingsError as error:
        sys.exit(f"cannot serve: {error}")
    settle_heap()
    print(f"serving on http://{args.host}:{args.port}/ ({args.async_mode}{_psycopg()})", flush=True)
    socketio(app).run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)


def _psycopg() -> str:
    psycopg = sys.modules.get("psycopg")
    return f"; psycopg {psycopg.pq.__impl__}" if psycopg is not None else ""


if __name__ == "__main__":
    main()
