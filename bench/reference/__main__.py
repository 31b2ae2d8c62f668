"""Serve the reference (or, with `empty`, the empty FastAPI endpoint) on $PORT the
way the service is served: uvicorn with uvloop and httptools, no access log.

    python -m bench.reference [app|empty]
"""

import os
import sys

import uvicorn

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "app"
    uvicorn.run(
        f"bench.reference.{name}:app",
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
