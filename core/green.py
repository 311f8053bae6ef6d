"""Green-thread (gevent, eventlet) web processes: patching first, and what they refuse.

The standard library must be patched before anything else is imported, and psycopg's
pure Python implementation chosen before psycopg is (its C build holds the hub for the
length of a query: every other socket of the process waits; the Python one over
Debian's ``libpq5`` yields). ``patch(mode)`` does both; ``core.serve`` and
``config/gunicorn.py`` call it first thing.

A monkey-patched process never runs SQLite writers (they deadlock: "database is
locked") nor aiortc (asyncio media in a patched process); ``check_process`` stops the
start of such a process with the reason.
"""

from __future__ import annotations

import os
import sys

GREEN_MODES = ("gevent", "eventlet")


def patch(mode: str) -> None:
    """Patch the standard library for ``mode`` (nothing for threading)."""
    if mode not in GREEN_MODES:
        return
    os.environ.setdefault("PSYCOPG_IMPL", "python")
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    else:
        import eventlet

        eventlet.monkey_patch()


def patched() -> str | None:
    """The green library that patched this process, if any."""
    gevent_monkey = sys.modules.get("gevent.monkey")
    if gevent_monkey is not None and gevent_monkey.is_module_patched("socket"):
        return "gevent"
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("socket"):
        return "eventlet"
    return None


def check_process(settings) -> list[str]:
    """Why this patched process cannot run (empty: it can, or it is not patched). A
    Celery worker reading the same settings is not patched and only publishes events."""
    green = patched()
    problems = []
    if green is not None:
        if settings["DATABASE_URL"].startswith("sqlite"):
            problems.append(f"a {green}-patched process never writes to SQLite (writers deadlock); use PostgreSQL")
        if "aiortc" in sys.modules:
            problems.append(f"aiortc is loaded in a {green}-patched process: run the media server in a process of its own")
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None and psycopg.pq.__impl__ != "python":
            problems.append(f"psycopg's {psycopg.pq.__impl__} implementation blocks the {green} hub during a query: "
                            "set PSYCOPG_IMPL=python (Debian's libpq5) before the process starts")
    return problems
