"""Charts drawn in a child process, so the serving process never imports matplotlib (~50 MiB it would keep for good).

One child, started on the first chart (`python -m bot.answers.chart_worker`, so it imports only what drawing needs),
draws one chart at a time: an Estimate and a language in, PNG bytes out, over its stdin/stdout as length-prefixed
frames. It is replaced after `max_charts` charts (matplotlib's caches only grow), when it dies, and when a chart takes
longer than `hang_seconds` (it is killed). The caller's deadline (ChartService) is separate and much shorter: a chart
that misses it is still drawn and cached for the next ask. A new child's first chart pays for its start (a process,
matplotlib, the fonts: seconds on a loaded machine), so a serving process starts and warms one at once (`warm`).

`ChartWorker.draw` blocks; the chart service calls it on its one chart thread, which waits on a pipe and so leaves the
event loop and the GIL free while the child draws.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from typing import IO, Any

from bot.domain.language import LANGS

log = logging.getLogger(__name__)

MAX_CHARTS_PER_WORKER = 500
HANG_SECONDS = 20.0  # far past any caller's deadline: only a stuck child is killed
MAX_FRAME = 8 * 1024 * 1024
# The child draws; it needs no credentials, so it is not given any.
_SECRET_ENV = ("DISCORD_TOKEN", "DISCORD_TOKEN_FILE", "BOT_DATABASE_URL", "BOT_MARKET_API_KEY", "DISCORD_PUBLIC_KEY")
_HEADER = struct.Struct(">I")
_OK, _FAILED = b"P", b"E"


class ChartWorkerError(Exception):
    """The chart was not drawn: the child failed to draw it, died, or hung (it is replaced for the next chart)."""


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float | None = None) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if size > MAX_FRAME:
        raise EOFError(f"frame of {size} bytes")
    return _read_exactly(fd, size, deadline)


class ChartWorker:
    """The parent's handle on the drawing child. Thread-safe; one chart at a time."""

    def __init__(self, *, max_charts: int = MAX_CHARTS_PER_WORKER, hang_seconds: float = HANG_SECONDS) -> None:
        self.max_charts = max_charts
        self.hang_seconds = hang_seconds
        self.started = 0  # children started (the first, then one per recycle, crash or hang)
        self.crashed = 0  # children that died or hung with a chart in hand
        self.drawn = 0
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._drawn_by_child = 0

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def draw(self, est: Any, lang: str) -> bytes:
        """The chart's PNG; ChartWorkerError if it cannot be drawn."""
        with self._lock:
            png = self._draw_locked(est, lang)
            self.drawn += 1
            return png

    def warm(self, est: Any) -> bool:
        """Start a child now and have it draw `est` once in every language, thrown away: it loads matplotlib and
        every font, so the next chart is drawn warm. False if a child is already running (it has drawn: it is warm).
        Not counted in `drawn`; ChartWorkerError as for draw."""
        with self._lock:
            if self._child is not None and self._child.poll() is None:
                return False
            for lang in LANGS:
                self._draw_locked(est, lang)
            return True

    def _draw_locked(self, est: Any, lang: str) -> bytes:
        child = self._ensure_child()
        assert child.stdin is not None and child.stdout is not None
        try:
            _write_frame(child.stdin, pickle.dumps((est, lang), protocol=pickle.HIGHEST_PROTOCOL))
            reply = _read_frame(child.stdout.fileno(), time.monotonic() + self.hang_seconds)
        except (OSError, EOFError, TimeoutError) as exc:
            self.crashed += 1
            self._stop_child(kill=True)
            what = "hung" if isinstance(exc, TimeoutError) else "died"
            raise ChartWorkerError(f"the chart worker {what}; a new one draws the next chart") from exc
        self._drawn_by_child += 1
        if self._drawn_by_child >= self.max_charts:
            self._stop_child()  # recycled: the next chart starts a fresh child
        if reply[:1] != _OK:
            raise ChartWorkerError(reply[1:].decode("utf-8", "replace"))
        return reply[1:]

    def close(self) -> None:
        with self._lock:
            self._stop_child()

    def _ensure_child(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        if self._child is not None:
            self._stop_child(kill=True)
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bot.answers.chart_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            env={k: v for k, v in os.environ.items() if k not in _SECRET_ENV},
        )
        self._drawn_by_child = 0
        self.started += 1
        return self._child

    def _stop_child(self, *, kill: bool = False) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if kill:
            child.kill()
        elif child.stdin is not None:
            child.stdin.close()  # the child's read ends: it exits on its own
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


@functools.cache
def shared_worker() -> ChartWorker:
    """The process's one chart worker (every answer core in a process shares it); stopped at exit."""
    worker = ChartWorker()
    atexit.register(worker.close)
    return worker


def draw_in_worker(est: Any, lang: Any) -> bytes:
    """The production chart renderer: drawn by the shared worker process."""
    return shared_worker().draw(est, lang)


def warm_worker(est: Any) -> bool:
    """The production chart warmer: warms the shared worker process (see ChartWorker.warm)."""
    return shared_worker().warm(est)


def main() -> None:
    """The child: draw every chart asked on stdin until stdin closes."""
    from bot.answers.chart import render_inflow_chart
    from bot.infra.logs import setup_logging

    setup_logging(os.environ.get("LOG_LEVEL", "WARNING"), os.environ.get("LOG_FORMAT", "text"), [])
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the frame stream
    while True:
        try:
            est, lang = pickle.loads(_read_frame(stdin))
        except EOFError:
            return
        try:
            reply = _OK + render_inflow_chart(est, lang).png
        except Exception as exc:
            log.exception("chart worker: drawing failed")
            reply = _FAILED + f"{type(exc).__name__}: {exc}".encode()
        _write_frame(stdout, reply)


if __name__ == "__main__":
    main()
