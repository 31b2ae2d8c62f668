"""Builds bench/native_pool.c, the subscriber client in C, on first use.

At a million deliveries and more, the Python client (bench/subscriber_pool.py)
spends more CPU than the server it measures on two cores; the C client speaks
the same protocol with its parent for a few percent of that. It is compiled
with the system's `cc` into a cache keyed by the source's hash; without a
compiler the harness falls back to the Python client and says so.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

SOURCE = Path(__file__).with_name("native_pool.c")


@cache
def executable() -> Path | None:
    """The built client, or None when there is no C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source = SOURCE.read_bytes()
    target = Path(tempfile.gettempdir()) / f"ops-bridge-native-pool-{hashlib.sha256(source).hexdigest()[:16]}"
    if not target.exists():
        partial = target.with_suffix(".building")
        subprocess.run([compiler, "-O2", "-o", str(partial), str(SOURCE)], check=True)
        partial.replace(target)
    return target
