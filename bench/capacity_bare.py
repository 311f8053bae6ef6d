"""The bare python-socketio server of bench/capacity_bench.py, in a given async mode.

``/chat``: ``join`` puts the socket in its chat's room, ``send`` broadcasts to the room
and acknowledges (what bench/node_echo.js does), no login, no database.

    gunicorn -k gthread --threads 50 --chdir bench capacity_bare:app   (BARE_MODE=threading)
    gunicorn -k gevent --worker-connections 10000 --chdir bench capacity_bare:app  (BARE_MODE=gevent)
    python bench/capacity_bare.py eventlet PORT
"""

from __future__ import annotations

import os
import sys


def build(mode: str):
    import socketio

    sio = socketio.Server(async_mode=mode, cors_allowed_origins="*")

    @sio.on("join", namespace="/chat")
    def join(sid, data):
        sio.enter_room(sid, f"room:{data['chat']}", namespace="/chat")
        return {"ok": True, "messages": []}

    @sio.on("send", namespace="/chat")
    def send(sid, data):
        sio.emit("message", data, to=f"room:{data['chat']}", namespace="/chat", skip_sid=sid)
        return {"ok": True, "message": data}

    @sio.on("connect", namespace="/chat")
    def connect(sid, environ, auth=None):
        return True

    return socketio.WSGIApp(sio)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
        import eventlet.wsgi

        eventlet.wsgi.server(eventlet.listen(("127.0.0.1", port), backlog=2048), build(mode), log_output=False,
                             max_size=10000)
else:
    _mode = os.environ.get("BARE_MODE", "threading")
    app = build("gevent" if _mode == "gevent" else "threading")
