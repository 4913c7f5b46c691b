# syntax=docker/dockerfile:1
# Build: docker build -t k401-bot .   Run: see compose.yaml or the README.
# CI builds and smoke-tests this file with podman: scripts/image.sh. What the image contains: docs/image.md.

FROM python:3.11-slim-bookworm AS build
# binutils: `strip` for the extension modules (scripts/slim_venv.py); this stage only.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
COPY config ./config
# The bot's own wheel only; every dependency comes from requirements.lock.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .
COPY requirements.lock scripts/slim_venv.py /tmp/
# Dependencies exactly as locked (pinned versions, every file's hash checked), then the bot without resolving
# anything; then drop what nothing runs (tests, sample data, other languages' locale data, symbol tables, bytecode
# of modules never imported: docs/image.md) and pip itself, which the running bot never needs.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --no-compile --require-hashes -r /tmp/requirements.lock \
    && /opt/venv/bin/pip install --no-cache-dir --no-compile --no-deps --no-index --find-links=/wheels k401-bot==0.1.0 \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python /tmp/slim_venv.py /opt/venv \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -m pip uninstall -q -y pip setuptools

FROM python:3.11-slim-bookworm
# No system CJK font: the package ships subsets of Noto Sans CJK TC/SC (bot/fonts/) covering every chart label.
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin k401 \
    && mkdir -p /data \
    && chown k401 /data
ENV PATH=/opt/venv/bin:$PATH \
    BOT_DB_PATH=/data/bot.sqlite3 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/data/.matplotlib
USER 10001
WORKDIR /data
VOLUME ["/data"]
# Both modes: `run` (gateway) fails when the store is unusable or the gateway heartbeat is stale; `serve` (a public
# key and no token) fails unless the local endpoint's /healthz answers 200.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]
# SIGTERM: the bot closes the gateway and the store, then exits 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
