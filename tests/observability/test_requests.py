"""The request id made for a request that brings none."""

from __future__ import annotations

import uuid

from app.observability.requests import new_id


def test_a_fresh_request_id_is_a_random_uuid4_in_hex() -> None:
    made = {new_id() for _ in range(1000)}

    assert len(made) == 1000
    for rid in made:
        parsed = uuid.UUID(hex=rid)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, rid)
