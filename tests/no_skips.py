"""`BOT_NO_SKIPS=1` (set by .ci/run): a test that skips fails the run, naming the test and why it skipped.

Tests skip where a service or font may be missing on a developer's machine (PostgreSQL, a CJK font); CI provides
them, so there a skip means a check silently did not run. Loaded by tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

_skipped: list[tuple[str, str]] = []


def _enforced() -> bool:
    return os.environ.get("BOT_NO_SKIPS", "") not in ("", "0")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _skipped.append((report.nodeid, reason.removeprefix("Skipped: ")))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _enforced() and _skipped:
        terminalreporter.section("BOT_NO_SKIPS=1: skipped tests fail this run", red=True)
        for nodeid, reason in _skipped:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _enforced() and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
