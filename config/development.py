"""Development: `teleconsult run` on a laptop, embedded default, demo data."""

DEMO_DATA = True
SECRET_KEY = "development-only-secret"
# The development ESIA identity provider (plugins.esia): the portal works with nothing outside.
ESIA_DEV_IDP = True
# The development signer (plugins.esignature): a test CA and a GOST certificate per doctor,
# so «Завершить с формированием заключения» works with no CryptoPro.
ESIGNATURE_DEVELOPMENT_SIGNER = True
