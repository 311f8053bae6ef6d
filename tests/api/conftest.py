"""Helpers for the REST API tests: tokens and a JSON client with a bearer header."""

import pytest

ALL_SCOPES = "registry:read registry:write consultations:read consultations:write"


class Api:
    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def get(self, url, **kw):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url, json=None, **kw):
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def make_token(factory):
    """``make_token(organisation, scopes=ALL_SCOPES)`` → the plain token value."""
    from core.api.auth import create_token
    from core.db import db

    def make(organisation, scopes: str = ALL_SCOPES, name: str = "МИС «Тест»") -> str:
        _token, value = create_token(name, organisation.id, scopes.split())
        db.session.commit()
        return value

    return make


@pytest.fixture
def api_for(client, make_token):
    """``api_for(organisation, scopes)`` → a client that sends that organisation's token."""

    def make(organisation, scopes: str = ALL_SCOPES) -> Api:
        return Api(client, make_token(organisation, scopes))

    return make


def error_of(response) -> dict:
    body = response.get_json()
    assert body and "error" in body, response.get_data(as_text=True)
    assert body["error"]["status"] == response.status_code
    return body["error"]


def is_russian(text: str) -> bool:
    return any("а" <= ch.lower() <= "я" for ch in text)
