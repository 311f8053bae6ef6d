"""Testing: what the test suite builds its apps with."""

TESTING = True
SECRET_KEY = "testing-only-secret"
LOGIN_LOCKOUT_MINUTES = 15
# Keep CSRF on: tests exercise the real forms (core.testing fetches the token).
WTF_CSRF_ENABLED = True
# The development ESIA identity provider (plugins.esia): the portal works with nothing outside.
ESIA_DEV_IDP = True
# The development signer (plugins.esignature): a test CA and a GOST certificate per doctor.
ESIGNATURE_DEVELOPMENT_SIGNER = True
