"""The interaction log line: same information, redacted, one line whatever a payload carries."""

from __future__ import annotations

import json
import logging

import pytest

from bot.infra.logs import REDACTED, InteractionLine, RedactSecrets, emit, setup_logging
from bot.interactions.handler import log_interaction
from bot.interactions.model import Interaction, Kind

SECRET = "known-fake-secret-for-the-log-tests-xxxxxxxx"


def _line(**changes: object) -> None:
    interaction = Interaction(
        Kind.COMMAND,
        name=str(changes.get("name", "inflow")),
        locale=changes.get("locale", "zh-TW"),  # type: ignore[arg-type]
        guild_id=42,
    )
    options = changes.get("options", {"allocation": "2%", "pool": None})
    log_interaction(interaction, interaction.name, options, None, "answered", cache_hit=True)  # type: ignore[arg-type]


def test_the_text_line_says_what_was_asked_and_how_it_ended(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [SECRET])
    _line()
    err = capsys.readouterr().err
    assert err.endswith(
        "bot.interactions.handler: /inflow allocation='2%' locale=zh-TW Nonems cache=hit outcome=answered\n"
    )


def test_the_json_line_carries_the_same_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json", [SECRET])
    _line()
    entry = json.loads(capsys.readouterr().err)
    assert entry["message"] == "/inflow allocation='2%' locale=zh-TW Nonems cache=hit outcome=answered"
    assert (entry["command"], entry["options"], entry["locale"], entry["guild"]) == (
        "inflow",
        {"allocation": "2%"},
        "zh-TW",
        42,
    )
    assert (entry["cache"], entry["outcome"], entry["latency_ms"]) == ("hit", "answered", None)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_typed_anywhere_in_an_interaction_is_redacted(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", fmt, [SECRET])
    _line(name=f"x{SECRET}", locale=SECRET, options={SECRET: f"a{SECRET}b", "pool": SECRET})
    err = capsys.readouterr().err
    assert SECRET not in err and err.count(REDACTED) >= 5, err


def test_a_line_built_before_a_secret_was_known_is_still_scrubbed() -> None:
    late = "a-secret-only-known-after-the-line-was-built"
    line = InteractionLine("inflow", {"allocation": late}, "en", None, 1.0, None, "answered")
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, line, (), None)
    RedactSecrets([late]).filter(record)
    assert late not in record.getMessage() and REDACTED in record.getMessage()


@pytest.mark.parametrize(
    "evil", ["inflow\n[2026-01-01 00:00:00] [ERROR   ] forged", "inflow\x1b[2J", "a\u2028b", "a b"]
)
def test_a_payload_cannot_forge_a_text_line(evil: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [SECRET])
    _line(name=evil, locale=evil, options={evil: evil})
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\u2028" not in err, err
    assert f"/{evil!r} {evil!r}={evil!r} locale={evil!r}" in err


def test_any_text_message_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "text", [SECRET])
    logging.getLogger("bot.x").warning("autocomplete for /%s failed", "a\nb\rc\x1b[31m")
    assert capsys.readouterr().err.endswith("bot.x: autocomplete for /a\\nb\\rc\\x1b[31m failed\n")


def test_emit_skips_disabled_levels(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("WARNING", "text", [SECRET])
    emit(logging.getLogger("bot.y"), InteractionLine("sources", {}, None, None, None, None, "answered"))
    assert capsys.readouterr().err == ""
