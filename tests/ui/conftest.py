"""Fixtures for the browser tests of the pages: the chat tests' live server and Chromium."""

from tests.chat.conftest import browser, server  # noqa: F401  (fixtures)
