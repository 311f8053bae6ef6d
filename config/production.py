"""Production: PostgreSQL, Redis, Celery worker, several web processes.

The app refuses to start in production with any of these still at an unsafe value
(see ``core.settings.check_production``).
"""

SESSION_COOKIE_SECURE = True
# The __Host- prefix: the browser keeps the cookie only if Secure, for Path=/, with no
# Domain (no other subdomain can set or overwrite it).
SESSION_COOKIE_NAME = "__Host-teleconsult_session"
HSTS_SECONDS = 31536000
REMEMBER_COOKIE_SECURE = True
PREFERRED_URL_SCHEME = "https"
TASKS_BACKEND = "celery"
LOG_FORMAT = "json"
DEMO_DATA = False
