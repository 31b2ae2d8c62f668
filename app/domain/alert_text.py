"""What of an alert's text one message can carry.

An alert message carries what people read (summary, description, labels)
beside the contract's fields, and must stay under 10 KB however much a sender
puts in: a rule may template a log excerpt into its description, or carry a
hundred labels. The adapters bound each text on its own (app/adapters/
alert_fields.py); here the labels get a budget of their own, and the data as a
whole stays under DATA_BYTES once serialized (quotes and newlines double in
JSON): the description is cut first, then the summary, each with the
truncation marker and never below a floor. The envelope (type, action,
timestamp, id) adds about 150 bytes.

Both steps depend only on what they are given, so an alert re-sent unchanged
is cut exactly as it was the first time, and compares equal to what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from app.contract.payloads import AlertData
from app.normalize.text import clip

DATA_BYTES = 9 * 1024
LABELS_BYTES = 3 * 1024
LABEL_VALUE_BYTES = 256
# The contract's own fields at their longest (each name, id and resource is at
# most 200 bytes, doubled by escaping), with their keys, numbers and times.
_OTHER_FIELDS_BYTES = 3 * 1024
_MIN_TEXT_BYTES = 256
_CUT_FIRST = ("description", "summary")


def message_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels a message carries: in name order, each value cut to LABEL_VALUE_BYTES,
    as many as fit in LABELS_BYTES once serialized; the rest are left out."""
    if _surely_within(labels):
        return dict(labels)  # the common case: a few short labels
    chosen: dict[str, str] = {}
    spent = 2  # the braces
    for name in sorted(labels):
        value = clip(labels[name], LABEL_VALUE_BYTES)
        cost = len(orjson.dumps(name)) + len(orjson.dumps(value)) + 2  # the colon and the comma
        if spent + cost > LABELS_BYTES:
            continue  # a shorter one further on may still fit
        chosen[name] = value
        spent += cost
    return chosen


def fit(payload: AlertData) -> AlertData:
    """`payload`, its description (then its summary) cut further if the whole would pass DATA_BYTES."""
    if _surely_fits(payload):
        return payload  # the common case: not worth serializing to find out
    for name in _CUT_FIRST:
        for _ in range(3):
            text: str | None = getattr(payload, name)
            excess = len(orjson.dumps(payload.wire())) - DATA_BYTES
            if excess <= 0:
                return payload
            if text is None:
                break
            size = len(text.encode())
            room = max(size - excess - 64, _MIN_TEXT_BYTES)
            if room >= size:
                break
            payload = payload.model_copy(update={name: clip(text, room)})
    return payload


def _surely_within(labels: Mapping[str, str]) -> bool:
    # A character is at most 4 bytes of UTF-8, or 2 once escaped (plain text keeps no other control character).
    values = labels.values()
    longest = max(map(len, values), default=0)
    total = sum(map(len, labels)) + sum(map(len, values))
    return 4 * longest <= LABEL_VALUE_BYTES and 4 * total + 6 * len(labels) + 2 <= LABELS_BYTES


def _surely_fits(payload: AlertData) -> bool:
    # Characters, at most 4 bytes each, are counted before bytes: encoding is the dearer test.
    texts = [text for text in (payload.summary, payload.description) if text is not None]
    room = (DATA_BYTES - LABELS_BYTES - _OTHER_FIELDS_BYTES) // 2
    return 4 * sum(map(len, texts)) <= room or sum(len(text.encode()) for text in texts) <= room
