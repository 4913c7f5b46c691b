"""bot.http.limits in-process: the connection cap's arithmetic and the one-line, rate-limited fault log."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from bot.http.limits import FaultLog, ServerLog, accept_error_handler, connection_cap, one_line


@pytest.mark.parametrize(("limit", "cap"), [(1024, 832), (65536, 10_000), (None, 10_000), (100, 16), (4096, 3904)])
def test_the_connection_cap_stays_below_the_descriptor_limit(limit: int | None, cap: int) -> None:
    assert connection_cap(limit) == cap


def _log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.faults"]


def test_faults_are_one_line_per_kind_per_interval_with_the_count_held_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    faults = FaultLog(logging.getLogger("test.faults"), interval=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for _ in range(1000):
            faults.note("malformed request refused (400)", "Invalid header token")
        faults.note("compressed request refused (415)")
        now[0] = 10.5
        faults.note("malformed request refused (400)", "again")
    assert _log(caplog) == [
        "malformed request refused (400): Invalid header token",
        "compressed request refused (415)",
        "malformed request refused (400): again (and 999 more in the last 10 s)",
    ]
    assert faults.counts["malformed request refused (400)"] == 1001


def test_aiohttp_tracebacks_and_accept_errors_become_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """Before: aiohttp logged `Error handling request` with a traceback per malformed request, and asyncio one per
    failed accept (EMFILE at the descriptor limit)."""
    faults = FaultLog(logging.getLogger("test.faults"))
    server_log = ServerLog(faults)
    loop = asyncio.new_event_loop()
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(100):
                server_log.exception(
                    "Error handling request from %s", "127.0.0.1", exc_info=BadHttpMessage("bad\x1b[31m")
                )
                accept_error_handler(faults)(
                    loop,
                    {
                        "message": "socket.accept() out of system resource",
                        "exception": OSError(errno.EMFILE, "Too many open files"),
                    },
                )
    finally:
        loop.close()
    assert _log(caplog) == [
        "malformed request refused (400): bad\\x1b[31m",
        "cannot accept connections: Too many open files",
    ]
    assert not any(r.exc_info or r.exc_text for r in caplog.records)


def test_untrusted_text_is_one_short_printable_line() -> None:
    assert one_line("a\nb\r\x1b[2J" + "x" * 200) == "a\\nb\\r\\x1b[2J" + "x" * 67 + "..."
