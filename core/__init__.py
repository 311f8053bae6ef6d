"""teleconsult core: consultations, participants, routes, and the hooks plugins build on."""

import pluggy

hookimpl = pluggy.HookimplMarker("teleconsult")
#: for a plugin's own hook specifications (hook ``teleconsult_add_hookspecs``)
hookspec = pluggy.HookspecMarker("teleconsult")


def create_app(*args, **kwargs):
    """The app factory (``core.app.create_app``); also what ``flask --app core`` finds."""
    from core.app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["create_app", "hookimpl", "hookspec"]
