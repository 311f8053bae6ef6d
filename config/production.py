"""Production: PostgreSQL, Redis, Celery worker, several web processes.

The app refuses to start in production with any of these still at an unsafe value
(see ``core.settings.check_production``).
"""

SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True
PREFERRED_URL_SCHEME = "https"
TASKS_BACKEND = "celery"
LOG_FORMAT = "json"
DEMO_DATA = False
