"""A single production-style server process: ``python -m core.serve [--async-mode eventlet]``.

Eventlet must patch the standard library before anything else is imported, which is why
this is a module of its own and not a subcommand of ``teleconsult``. Behind a proxy,
prefer gunicorn (README, «Production deployment»).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--async-mode", choices=("threading", "eventlet"), default="threading")
    args = parser.parse_args(argv)
    if args.async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()

    from core.app import create_app
    from core.extensions import socketio

    app = create_app({"SOCKETIO_ASYNC_MODE": args.async_mode})
    if args.async_mode == "eventlet" and app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        sys.exit("eventlet mode needs PostgreSQL: SQLite writers deadlock under eventlet")
    print(f"serving on http://{args.host}:{args.port}/ ({args.async_mode})", flush=True)
    socketio(app).run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
