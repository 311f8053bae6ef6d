"""Settings modules: ``defaults`` plus one module per environment.

``core.settings`` is the one place that reads them (and ``TELECONSULT_*``
environment variables on top).
"""
