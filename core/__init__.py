"""teleconsult core: consultations, participants, routes, and the hooks plugins build on."""

from core.markers import hookimpl, hookspec


def create_app(*args, **kwargs):
    """The app factory (``core.app.create_app``); also what ``flask --app core`` finds."""
    from core.app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app", "hookimpl", "hookspec"]
