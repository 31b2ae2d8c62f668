# Ops Bridge: a slim image that runs as an unprivileged user.
# Production points DATABASE_URL at a real PostgreSQL; the image has no embedded one.
# (Written and checked by reading: the machines this was built on run no Docker engine.
# tests/test_compose.py checks this file and docker-compose.yml against the code.)
# The base is pinned to an exact release (Python and Debian), the same in both stages, so
# a rebuild gets the same interpreter; raise it deliberately (or pin its digest too).
FROM python:3.11.13-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11.13-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/srv \
    HOST=0.0.0.0 \
    PORT=8000 \
    ENVIRONMENT=production
RUN useradd --system --uid 10001 --no-create-home --home-dir /srv --shell /usr/sbin/nologin ops-bridge
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
# The app next to alembic.ini and migrations/ (PYTHONPATH puts it first), so
# migrations are found wherever the package is installed.
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER ops-bridge
EXPOSE 8000
# Liveness, as docs/deployment.md says: the process serves (/healthz). An engine restarts an
# unhealthy container, and a database outage must not restart every replica: readiness
# (/readyz: database, schema, listener) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2).status == 200 else 1)"]
STOPSIGNAL SIGTERM
# Applies migrations, then serves (JSON logs: ENVIRONMENT=production). To keep
# schema changes out of the start-up path, run `ops-bridge migrate` as a one-off
# job and set MIGRATE_ON_START=false (docker-compose.yml does). Several worker
# processes: `ops-bridge serve --workers N` (their /metrics are added up).
CMD ["ops-bridge", "serve"]
