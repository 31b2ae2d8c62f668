# Ops Bridge: a slim image that runs as an unprivileged user.
# Production points DATABASE_URL at a real PostgreSQL; the image has no embedded one.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv \
    HOST=0.0.0.0 \
    PORT=8000 \
    ENVIRONMENT=production
RUN useradd --system --uid 10001 --home-dir /srv ops-bridge
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv
# The app next to alembic.ini and migrations/ (PYTHONPATH puts it first), so
# migrations are found wherever the package is installed.
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
USER ops-bridge
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
# Applies migrations, then serves. Run `ops-bridge migrate` as a one-off job and
# set MIGRATE_ON_START=false to keep schema changes out of the start-up path.
CMD ["ops-bridge", "serve"]
