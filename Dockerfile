# syntax=docker/dockerfile:1
# Build: docker build -t k401-bot .   Run: see compose.yaml or the README.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
COPY config ./config
# The bot's own wheel only; every dependency comes from requirements.lock in the runtime stage.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
# A CJK font so charts draw Chinese labels instead of empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk=1:20220127+repack1-1 \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
COPY --from=build /wheels /wheels
# Dependencies exactly as locked (pinned versions, every file's hash checked), then the bot without resolving anything.
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && pip install --no-cache-dir --no-deps --no-index --find-links=/wheels k401-bot==0.1.0 \
    && pip check \
    && rm -rf /wheels /tmp/requirements.lock \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin k401 \
    && mkdir -p /data \
    && chown k401 /data
ENV BOT_DB_PATH=/data/bot.sqlite3 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/data/.matplotlib
USER 10001
WORKDIR /data
VOLUME ["/data"]
# The bot writes a gateway heartbeat into the store; health fails when the store is unusable or it is stale.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]
# SIGTERM: the bot closes the gateway and the store, then exits 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
