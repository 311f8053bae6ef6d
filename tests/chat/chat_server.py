"""A web process for the multi-process tests: ``python -m tests.chat.chat_server PORT [MODE]``.

MODE is the Socket.IO async mode (threading by default; gevent patches the process
first, as ``core.serve`` does, and needs PostgreSQL).

Settings come from the environment (TELECONSULT_DATABASE_URL, TELECONSULT_DATA_DIR,
TELECONSULT_SOCKETIO_MESSAGE_QUEUE), as in a real deployment; the test login route is
added because patients have no password (they come through ESIA).
"""

from __future__ import annotations

import sys


def main() -> None:
    mode = sys.argv[2] if len(sys.argv) > 2 else "threading"
    from core.green import patch

    patch(mode)
    from core.app import create_app
    from core.extensions import socketio
    from core.testing import enable_test_login

    port = int(sys.argv[1])
    app = create_app({"SOCKETIO_ASYNC_MODE": mode}, environment="testing")
    enable_test_login(app)
    psycopg = sys.modules.get("psycopg")
    print(f"serving on {port} ({mode}; psycopg {psycopg.pq.__impl__ if psycopg else '-'})", flush=True)
    socketio(app).run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
