"""/healthz and /metrics of one process without a message queue."""

from __future__ import annotations



def test_healthz_without_a_queue_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"database": "ok", "message_queue": "none", "status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_metrics_answer_loopback_only(client):
    client.get("/healthz")
    page = client.get("/metrics")
    assert page.status_code == 200 and page.content_type.startswith("text/plain")
    text = page.get_data(as_text=True)
    assert 'teleconsult_http_requests_total{status="2xx"}' in text
    assert "teleconsult_database_up 1.0" in text
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404
