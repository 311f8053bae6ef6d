"""A web process for the multi-process test: ``python -m tests.chat.chat_server PORT``.

Settings come from the environment (TELECONSULT_DATABASE_URL, TELECONSULT_DATA_DIR,
TELECONSULT_SOCKETIO_MESSAGE_QUEUE), as in a real deployment; the test login route is
added because patients have no password (they come through ESIA).
"""

from __future__ import annotations

import sys


def main() -> None:
    from core.app import create_app
    from core.extensions import socketio
    from core.testing import enable_test_login

    port = int(sys.argv[1])
    app = create_app(environment="testing")
    enable_test_login(app)
    print(f"serving on {port}", flush=True)
    socketio(app).run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


if __name__ == "__main__":
    main()
