"""A server process leaves what it built at start-up out of the garbage collector's
full passes, which would otherwise stall every webhook and socket now and then."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_worker_process_freezes_its_start_up_heap() -> None:
    # `serve --workers N` starts each worker by importing app.main.
    env = {**os.environ, "DATABASE_URL": "postgresql://unused@127.0.0.1/unused", "JWT_SECRET": "x" * 40}
    probe = "import gc, app.main; print(gc.get_freeze_count())"
    frozen = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert int(frozen.stdout.strip().splitlines()[-1]) > 10_000
