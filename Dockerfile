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
# No system CJK font: the package ships subsets of Noto Sans CJK TC/SC (bot/fonts/) covering every chart label.
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
# Both modes: `run` (gateway) fails when the store is unusable or the gateway heartbeat is stale; `serve` (a public
# key and no token) fails unless the local endpoint's /healthz answers 200.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]
# SIGTERM: the bot closes the gateway and the store, then exits 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
