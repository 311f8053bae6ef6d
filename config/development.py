"""Development: `teleconsult run` on a laptop, embedded default, demo data."""

DEMO_DATA = True
SECRET_KEY = "development-only-secret"
