"""The app class: a Flask whose Socket.IO events get a light request context."""

from __future__ import annotations

from flask import Flask
from flask.ctx import RequestContext


SOCKETIO_PATH = "/socket.io/"  # Flask-SocketIO's default, where the JavaScript client looks
_SOCKET_ADAPTER = "teleconsult.url_adapter"
_SOCKET_SESSION = "teleconsult.session"


class _SocketEventContext(RequestContext):
    """The request context of one Socket.IO event.

    Flask-SocketIO runs every event in a request context made from its connection's
    WSGI environ, the one of the handshake. What Flask would work out from it afresh for
    each event is the same for the whole connection: the session (the cookie of the
    handshake, decoded and verified once) and the URL adapter (``url_for`` still works in
    handlers). Nothing is matched against the URL map: no view serves an event.
    """

    def __init__(self, app: Flask, environ) -> None:
        request = app.request_class(environ)
        request.json_module = app.json
        adapter = environ.get(_SOCKET_ADAPTER)
        if adapter is None:
            adapter = environ[_SOCKET_ADAPTER] = app.create_url_adapter(request)
        self.app = app
        self.request = request
        self.url_adapter = adapter
        self.flashes = None
        self._session = environ.get(_SOCKET_SESSION)
        self._after_request_functions = []
        self._cv_tokens = []

    def push(self) -> None:
        super().push()
        self.request.environ.setdefault(_SOCKET_SESSION, self._session)

    def match_request(self) -> None:
        return None


class TeleconsultFlask(Flask):
    def request_context(self, environ):
        if environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            return _SocketEventContext(self, environ)
        return super().request_context(environ)
