"""A pytest plugin (``-p tests.hook_recorder``) that records which teleconsult hooks were
called with a plugin's implementation (not only the core's) during the run, and writes
their names as JSON to the file named by ``TELECONSULT_HOOK_RECORD`` at the end.

Every plugin manager is watched through pluggy's call monitoring, which sees lifecycle
hooks and, since ``core.plugins.collect`` calls through pluggy, registration hooks too.
"""

import json
import os

CALLED: set[str] = set()


def _before(hook_name, hook_impls, kwargs):
    if any(impl.plugin_name != "core" for impl in hook_impls):
        CALLED.add(hook_name)


def _after(outcome, hook_name, hook_impls, kwargs):
    pass


def pytest_configure(config):
    from core.plugins import TeleconsultPluginManager

    original = TeleconsultPluginManager.__init__

    def watched(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.add_hookcall_monitoring(_before, _after)

    TeleconsultPluginManager.__init__ = watched


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("TELECONSULT_HOOK_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as record:
            json.dump(sorted(CALLED), record)
