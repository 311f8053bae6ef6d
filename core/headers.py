"""The Content-Security-Policy of the app's pages and the ``Server`` header (issue 12;
the other security headers are set beside them, in ``core.app``)."""

from __future__ import annotations

import secrets

from flask import current_app, g, request
from werkzeug.serving import WSGIRequestHandler


def csp_nonce() -> str:
    """The nonce of this response's inline scripts (``<script nonce="{{ csp_nonce() }}">``)."""
    if "teleconsult_csp_nonce" not in g:
        g.teleconsult_csp_nonce = secrets.token_urlsafe(18)
    return g.teleconsult_csp_nonce


def content_security_policy() -> str:
    """Scripts only from the app's own files (or an inline one with this response's nonce),
    the operator console's too: Flask-Admin puts the nonce on its inline scripts, and
    ``admin/static/console.js`` stands in for its inline handlers. Nothing may frame a
    page of another origin (``frame-ancestors``)."""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{csp_nonce()}'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:; media-src 'self' blob:; connect-src {_connect_sources()}; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
    )


def _connect_sources() -> str:
    """``'self'`` and the origins of ``CSP_CONNECT_SRC`` (a media server on another
    origin, such as a Janus WebSocket not behind the app's own proxy)."""
    return " ".join(["'self'", *current_app.config.get("CSP_CONNECT_SRC", [])])


# --------------------------------------------------------------------------- Server

SERVER = "teleconsult"


def server_header(response) -> None:
    """``Server: teleconsult``, naming neither the WSGI server nor Python. Werkzeug's and
    gunicorn's own header say so already (``RequestHandler``, ``config/gunicorn.py``) and
    tell the app through ``SERVER_SOFTWARE``; behind any other server the app sets it."""
    if request.environ.get("SERVER_SOFTWARE") != SERVER:
        response.headers["Server"] = SERVER


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler announcing itself as ``teleconsult``: its ``Server``
    header otherwise reads ``Werkzeug/3.x Python/3.x`` on every answer, its own error
    answers (a malformed request line) included."""

    @property
    def server_version(self) -> str:  # type: ignore[override]
        return SERVER

    def version_string(self) -> str:
        return SERVER


def server_options(async_mode: str) -> dict:
    """Keyword arguments of ``SocketIO.run`` for ``async_mode``: Werkzeug (threading)
    takes the request handler; gevent and eventlet answer without a ``Server`` header
    of their own, so the app's stands."""
    return {"request_handler": RequestHandler} if async_mode == "threading" else {}
