"""The REST API at ``/api/v1`` for medical information systems (SPEC F4).

Machine clients authenticate with a bearer token (``ApiToken``: only its SHA-256 is
stored); a session cookie is never enough here, so CSRF does not apply to this one
blueprint. Every endpoint asks ``core.access`` with the token's principal. Errors are
``{"error": {"status", "message", "fields"}}`` with a Russian message.

The blueprint is ``core.api.views.blueprint``. This package imports nothing, so that a
plugin's endpoints take ``core.api.base`` and ``core.api.schemas`` without loading the
core's views.
"""
