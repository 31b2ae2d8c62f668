"""`ops-bridge serve --workers N`: one supervisor, N worker processes on one port."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.server import ServerProcess, free_port


@contextmanager
def workers_process(env: dict[str, str], workers: int) -> Iterator[ServerProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers), "--no-migrate"]
    inherited = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATA_DIR", "JWT_SECRET"}}
    inherited.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        argv, env={**inherited, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "Uvicorn running on" in line:  # the supervisor has bound the shared socket
            break
    else:
        raise RuntimeError("server exited during start-up:\n" + "".join(output))
    drain = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    drain.start()
    try:
        yield ServerProcess(process, port, output)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        drain.join(10)
        process.stdout.close()
