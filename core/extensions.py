"""Flask extensions, created unbound and initialised by ``core.app.create_app``."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask import Flask, current_app
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

from core.db import db

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()


def socketio(app: Flask | None = None) -> SocketIO:
    """The app's Socket.IO server. One per app (not a module global), so that several
    apps in one process (tests, two web workers in a benchmark) keep their own."""
    return (app or current_app).extensions["socketio"]

__all__ = ["SocketIO", "babel", "csrf", "db", "login_manager", "migrate", "socketio"]
