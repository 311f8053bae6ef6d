"""The hook markers of teleconsult, in a leaf module that imports nothing of the project.

``hookimpl`` marks a plugin's hook implementations, ``hookspec`` a plugin's own hook
specifications (hook ``teleconsult_register_hookspecs``). ``core.hookimpl`` and
``core.hookspec`` are the same objects, for plugins written against them.
"""

import pluggy

PROJECT = "teleconsult"

hookimpl = pluggy.HookimplMarker(PROJECT)
#: for a plugin's own hook specifications (hook ``teleconsult_register_hookspecs``)
hookspec = pluggy.HookspecMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
