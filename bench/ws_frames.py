"""Reading server frames out of a raw receive buffer, for the benchmarks' lightweight clients
(bench/subscriber_pool.py, bench/resume_pool.py): headers only, no unmasking (a server's frames
are never masked), no copy of the payload."""

from __future__ import annotations


def next_frame(buf: bytearray, pos: int) -> tuple[int, int, int] | None:
    """(opcode, payload start, payload end) of the frame at `pos`, or None while it is incomplete."""
    size = len(buf)
    if size - pos < 2:
        return None
    opcode, length, start = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, pos + 2
    if length == 126:
        if size - pos < 4:
            return None
        length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
    elif length == 127:
        if size - pos < 10:
            return None
        length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
    end = start + length
    return None if end > size else (opcode, start, end)
