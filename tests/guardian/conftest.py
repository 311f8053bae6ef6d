"""Fixtures of the legal-representation tests: API tokens, live server, chat sockets."""

from tests.api.conftest import api_for, make_token  # noqa: F401
from tests.chat.conftest import server, sockets  # noqa: F401
