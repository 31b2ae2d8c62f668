"""Credentials are never among what the delivery log keeps of a request."""

from __future__ import annotations

from app.auth.redaction import keepable_headers, keepable_query


def test_query_parameters_that_may_carry_credentials_are_dropped() -> None:
    kept = keepable_query(
        {"environment": "staging", "squad": "db", "secret": "s", "token": "t", "api_key": "k", "sig": "x", "auth": "a"}
    )

    assert kept == {"environment": "staging", "squad": "db"}


def test_headers_that_authenticate_are_dropped_and_the_rest_kept_lower_cased() -> None:
    kept = keepable_headers(
        {
            "Authorization": "Bearer x",
            "X-Hub-Signature": "sha256=y",
            "Cookie": "s=1",
            "X-Atlassian-Webhook-Identifier": "7",
        }
    )

    assert kept == {"x-atlassian-webhook-identifier": "7"}
