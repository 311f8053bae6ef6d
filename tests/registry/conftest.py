"""The API fixtures serve the registry tests too."""

from tests.api.conftest import api_for, make_token  # noqa: F401
