#!/usr/bin/env bash
# Build the container image from the Dockerfile with podman (no daemon) and smoke-test it: every check prints one
# line ("ok: …" or "FAIL: …") and the script exits non-zero when any fails. .ci/run calls it; run it by hand too:
#     scripts/image.sh            # build + smoke checks (installs podman/debootstrap with apt-get when missing, as root)
#     IMAGE_BUILD=0 scripts/image.sh   # smoke checks against the image already built
#
# How podman works on this kind of machine: vfs storage, `build --isolation=chroot`, `run` with the runc runtime and
# --cgroup-manager=cgroupfs (crun fails on hybrid cgroup hosts and when raising rlimits), explicit --ulimit values at or
# below the current limits. No container registry is reachable here: when python:3.11-slim-bookworm cannot be pulled,
# a stand-in base is built from Debian's own packages (debootstrap bookworm, python3 3.11) and imported under the
# base's name; it is cached in $K401_CI_CACHE between runs. The Dockerfile stays the one a user builds with Docker.
#
# The expected figures of the `ask` checks are not written here: each one is the answer of the same `ask` from the
# checkout's venv (EXPECT_PYTHON), so a content change to config/ moves both sides at once. The line that must be in
# it (a figure) is chosen below in ASK_CHECKS.
{ # the whole script is read before it runs: editing it meanwhile cannot change a run in progress
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/k401-bot:ci}
BASE=python:3.11-slim-bookworm
K401_CI_CACHE=${K401_CI_CACHE:-/var/cache/k401-ci}
EXPECT_PYTHON=${EXPECT_PYTHON:-.venv/bin/python}
EXPECT_PYTHON="$(cd "$(dirname "$EXPECT_PYTHON")" && pwd)/$(basename "$EXPECT_PYTHON")"  # absolute, venv kept
IMAGE_BUILD=${IMAGE_BUILD:-1}
STAND_IN_PACKAGES=python3,python3-pip,python3-venv,ca-certificates
HOST_CA=/etc/ssl/certs/ca-certificates.crt

# `ask` checks: language, command, and a pattern (grep -E) that picks the figure line out of the checkout's own answer.
ASK_CHECKS=(
  "en|/inflow 1% pool:retirement|billion"
  "zh-TW|/inflow 1% pool:retirement|億美元"
  "zh-CN|/inflow 1% pool:retirement|亿美元"
)

START=$(date +%s)
FAILED=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILED=1; }

# --- tools --------------------------------------------------------------------------------------------------------
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  [ "$(id -u)" = 0 ] || { echo "FAIL: ${need[*]} missing and not root"; exit 1; }
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

PODMAN=(podman --storage-driver=vfs --cgroup-manager=cgroupfs --runtime=runc)
NOFILE=$(ulimit -n); NPROC=$(ulimit -u)
[ "$NOFILE" = unlimited ] && NOFILE=65536
[ "$NPROC" = unlimited ] && NPROC=65536
[ "$NOFILE" -gt 4096 ] && NOFILE=4096
[ "$NPROC" -gt 4096 ] && NPROC=4096
KEEP=("${PODMAN[@]}" run --no-healthcheck --ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")
RUN=("${KEEP[@]}" --rm)

# --- the base -----------------------------------------------------------------------------------------------------
stand_in_base() {
  # A rootfs tarball keyed by the package list, built once per machine and imported when podman's store lacks it.
  local key tarball root
  key=$(echo "bookworm minbase $STAND_IN_PACKAGES v2" | sha256sum | cut -c1-12)
  tarball="$K401_CI_CACHE/stand-in-base-$key.tar"
  if [ ! -s "$tarball" ]; then
    echo "== debootstrap bookworm ($STAND_IN_PACKAGES) -> $tarball"
    mkdir -p "$K401_CI_CACHE"
    root=$(mktemp -d "$K401_CI_CACHE/rootfs.XXXXXX")
    debootstrap --variant=minbase --include="$STAND_IN_PACKAGES" bookworm "$root" http://deb.debian.org/debian \
      >"$K401_CI_CACHE/debootstrap.log" 2>&1 || { tail -20 "$K401_CI_CACHE/debootstrap.log"; exit 1; }
    # Like the official image: `python` and `pip` on PATH, pip may install system-wide (no EXTERNALLY-MANAGED).
    ln -sf python3 "$root/usr/bin/python"
    [ -e "$root/usr/bin/pip" ] || ln -sf pip3 "$root/usr/bin/pip"
    rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    chmod 755 "$root"  # mktemp made it 0700: the image's / would be unreadable to the bot's user
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  "${PODMAN[@]}" import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL k401.stand-in=yes' "$tarball" "localhost/$BASE" >/dev/null
  "${PODMAN[@]}" tag "localhost/$BASE" "docker.io/library/$BASE"
}

if [ "$IMAGE_BUILD" = 1 ]; then
  if ! "${PODMAN[@]}" image exists "docker.io/library/$BASE" \
    && ! "${PODMAN[@]}" pull -q "docker.io/library/$BASE" >/dev/null 2>&1; then
    stand_in_base
  fi
  if [ "$("${PODMAN[@]}" image inspect --format '{{index .Labels "k401.stand-in"}}' "docker.io/library/$BASE")" = yes ]; then
    echo "note: no registry reachable; the base $BASE is a STAND-IN built with debootstrap from Debian bookworm" \
      "packages (python3 $("${RUN[@]}" --network=none "docker.io/library/$BASE" python3 -c 'import platform; print(platform.python_version())'), not the official image)"
  fi

  echo "== podman build (log: $K401_CI_CACHE/build.log)"
  mkdir -p "$K401_CI_CACHE"
  BUILD_START=$(date +%s)
  if ! "${PODMAN[@]}" build --isolation=chroot --format=docker --pull=never --network=host \
      --volume "$HOST_CA:/etc/ssl/certs/ca-certificates.crt:ro" \
      -t "$IMAGE" -f Dockerfile . >"$K401_CI_CACHE/build.log" 2>&1; then
    tail -30 "$K401_CI_CACHE/build.log"
    echo "FAIL: podman build"
    exit 1
  fi
  echo "built $IMAGE in $(($(date +%s) - BUILD_START)) s"
  "${PODMAN[@]}" image prune -f >/dev/null  # the build stage's layers: vfs keeps full copies
fi

# --- smoke checks -------------------------------------------------------------------------------------------------
"${PODMAN[@]}" image exists "$IMAGE" || { echo "FAIL: no image $IMAGE"; exit 1; }
[ -x "$EXPECT_PYTHON" ] || { echo "FAIL: $EXPECT_PYTHON missing (the checkout's venv gives the expected answers)"; exit 1; }
SMOKE=$(mktemp -d -t k401-smoke.XXXXXX)
CONTAINERS=()
cleanup() {
  for c in "${CONTAINERS[@]}"; do "${PODMAN[@]}" rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  rm -rf "$SMOKE"
}
trap cleanup EXIT
OFFLINE=(-e BOT_MARKET_ENABLED=0 --network=none)
free_port() { "$EXPECT_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One container for the checks that need no fresh state (each container is a full copy of the image with vfs):
# its user, the answers, the charts, check-config and pip check, each written to a file in $SMOKE/out.
mkdir -p "$SMOKE/out" && chmod 777 "$SMOKE/out"
{
  echo 'cd /tmp'
  echo 'id -u > /out/uid 2>&1'
  i=0
  for check in "${ASK_CHECKS[@]}"; do
    IFS='|' read -r lang line _ <<<"$check"
    printf 'python -m bot ask %q --lang %q --offline > /out/ask-%d 2>&1\n' "$line" "$lang" "$i"
    i=$((i + 1))
  done
  for lang in zh-TW zh-CN; do
    printf 'PYTHONWARNINGS=always python -m bot ask "/inflow 2%% pool:dc" --lang %s --offline --chart-dir /out/charts-%s >/dev/null 2>/out/chart-%s; echo $? >> /out/chart-%s\n' \
      "$lang" "$lang" "$lang" "$lang"
  done
  echo 'python -m bot check-config > /out/check-config 2>&1; echo "exit $?" >> /out/check-config'
  echo 'pip --python "$(command -v python)" check > /out/pip-check 2>&1; echo "exit $?" >> /out/pip-check'
} >"$SMOKE/out/checks.sh"
"${RUN[@]}" "${OFFLINE[@]}" -v "$SMOKE/out:/out" "$IMAGE" sh /out/checks.sh >"$SMOKE/batch.log" 2>&1 \
  || { fail "checks container: $(tail -3 "$SMOKE/batch.log")"; }

uid=$(cat "$SMOKE/out/uid" 2>/dev/null || true)
if [ "$uid" != 0 ] && [ "$uid" -eq "$uid" ] 2>/dev/null; then ok "runs as uid $uid (not root)"; else fail "user: $uid"; fi

i=0
for check in "${ASK_CHECKS[@]}"; do
  IFS='|' read -r lang line pattern <<<"$check"
  expected=$(cd "$SMOKE" && env -u DISCORD_TOKEN -u DISCORD_TOKEN_FILE BOT_MARKET_ENABLED=0 \
    BOT_DB_PATH="$SMOKE/expect.sqlite3" "$EXPECT_PYTHON" -m bot ask "$line" --lang "$lang" --offline 2>&1) \
    || fail "ask $lang: the checkout's own answer failed: $expected"
  actual=$(cat "$SMOKE/out/ask-$i" 2>/dev/null || true)
  i=$((i + 1))
  figure=$(grep -m1 -E "$pattern" <<<"$expected" || true)
  if [ -n "$figure" ] && [ "$actual" = "$expected" ]; then
    ok "ask '$line' --lang $lang: same answer as the checkout: $(head -c 90 <<<"$figure")"
  else
    fail "ask '$line' --lang $lang differs from the checkout's answer (or has no '$pattern'):"
    diff <(echo "$expected") <(echo "$actual") | head -10
  fi
done

for lang in zh-TW zh-CN; do
  out=$(cat "$SMOKE/out/chart-$lang" 2>/dev/null || true)
  png=$(find "$SMOKE/out/charts-$lang" -name '*.png' 2>/dev/null | head -1)
  if [ "$(tail -1 <<<"$out")" = 0 ] && [ -n "$png" ] && [ "$(head -c 4 "$png" | od -An -c | tr -d ' ')" = "211PNG" ] \
    && ! grep -qiE "missing from|findfont|glyph" <<<"$out"; then
    ok "chart $lang drawn ($(basename "$png"), $(stat -c %s "$png") bytes), no missing-glyph warning"
  else
    fail "chart $lang: $(tail -3 <<<"$out")"
  fi
done

out=$(cat "$SMOKE/out/check-config" 2>/dev/null || true)
[ "$(tail -1 <<<"$out")" = "exit 0" ] && ok "check-config: $(tail -2 <<<"$out" | head -1)" || fail "check-config: $out"
out=$(cat "$SMOKE/out/pip-check" 2>/dev/null || true)
[ "$(tail -1 <<<"$out")" = "exit 0" ] && ok "pip check (the image's venv): $(head -1 <<<"$out")" || fail "pip check: $out"

rc=0; out=$("${RUN[@]}" "${OFFLINE[@]}" "$IMAGE" python -m bot health 2>&1) || rc=$?
if [ "$rc" != 0 ] && [ "$(wc -l <<<"$out")" = 1 ]; then ok "health in a fresh container: exit $rc, one line: $out"
else fail "health in a fresh container: exit $rc: $out"; fi

# serve: host network, loopback only; a key made for this run.
read -r private public < <("$EXPECT_PYTHON" scripts/image_smoke.py keypair)
port=$(free_port)
name=k401-smoke-serve-$$
CONTAINERS+=("$name")
"${KEEP[@]}" -d --name "$name" --network=host -e BOT_MARKET_ENABLED=0 -e "DISCORD_PUBLIC_KEY=$public" \
  "$IMAGE" python -m bot serve --host 127.0.0.1 --port "$port" >/dev/null
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  sleep 0.5
done
code=$(curl -sS -o "$SMOKE/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
[ "$code" = 200 ] && ok "serve /healthz: 200 $(cat "$SMOKE/healthz")" || fail "serve /healthz: $code"
pong=$("$EXPECT_PYTHON" scripts/image_smoke.py ping "http://127.0.0.1:$port/interactions" "$private")
[[ "$pong" == 200\ *'"type": 1'* || "$pong" == 200\ *'"type":1'* ]] && ok "serve signed PING: $pong" || fail "serve signed PING: $pong"
wrong=$("$EXPECT_PYTHON" scripts/image_smoke.py ping "http://127.0.0.1:$port/interactions" "$private" --wrong)
[[ "$wrong" == 401\ * ]] && ok "serve, another key's signature: $wrong" || fail "serve, another key's signature: $wrong"
code=$(curl -sS -o "$SMOKE/metrics" -w '%{http_code}' "http://127.0.0.1:$port/metrics" || true)
[ "$code" = 200 ] && grep -q '^# TYPE k401_interactions_total counter' "$SMOKE/metrics" \
  && ok "serve /metrics: 200, $(grep -c '^k401_' "$SMOKE/metrics") k401_ samples" || fail "serve /metrics: $code"
DRAIN_BOUND=10
# The process's own exit time (State.FinishedAt), not podman's clean-up of the container's copy afterwards.
t0=$(date +%s%N)
"${PODMAN[@]}" kill --signal TERM "$name" >/dev/null
rc=$("${PODMAN[@]}" wait "$name")
finished=$(date -d "$("${PODMAN[@]}" inspect --format '{{.State.FinishedAt}}' "$name" | sed 's/ [A-Z]*$//')" +%s%N)
took_ms=$(((finished - t0) / 1000000))
if [ "$rc" = 0 ] && [ "$took_ms" -lt $((DRAIN_BOUND * 1000)) ]; then
  ok "serve SIGTERM: exit 0 in $took_ms ms (drain bound $DRAIN_BOUND s): $("${PODMAN[@]}" logs "$name" 2>&1 | tail -1)"
else
  fail "serve SIGTERM: exit $rc after $took_ms ms"; { "${PODMAN[@]}" logs "$name" 2>&1 || true; } | tail -5
fi
"${PODMAN[@]}" rm -f "$name" >/dev/null

# run: the gateway bot against the tests' loopback fake Discord (host network, 127.0.0.1 only).
name=k401-smoke-run-$$
CONTAINERS+=("$name")
out=$("$EXPECT_PYTHON" scripts/image_smoke.py discord-run -- "${RUN[@]}" --name "$name" --network=host \
  -e BOT_MARKET_ENABLED=0 -e DISCORD_TOKEN=MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.fake-token-for-the-loopback-discord-xx \
  "$IMAGE" python -c 'import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; from bot.__main__ import main; sys.exit(main(["run"]))' 2>&1) \
  && ok "run against the loopback fake Discord: $out" || fail "run against the loopback fake Discord: $out"

# --- size ---------------------------------------------------------------------------------------------------------
size() { "${PODMAN[@]}" image inspect --format '{{.Size}}' "$1"; }
image_bytes=$(size "$IMAGE"); base_bytes=$(size "docker.io/library/$BASE")
awk -v i="$image_bytes" -v b="$base_bytes" \
  'BEGIN { printf "size: image %.1f MB, base %.1f MB, added %.1f MB over the base\n", i / 1e6, b / 1e6, (i - b) / 1e6 }'

echo "image checks took $(($(date +%s) - START)) s"
if [ "$FAILED" != 0 ]; then echo "image: FAILED"; exit 1; fi
echo "image: all smoke checks passed"
exit 0
}
