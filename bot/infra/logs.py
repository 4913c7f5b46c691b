"""Logging with the standard library (discord.py's line format, or JSON lines for log shippers), secrets redacted.

No discord import here: every CLI call (the Docker HEALTHCHECK too) sets up logging, and must not pay for discord.py.

The one line per interaction is an `InteractionLine`: its strings (everything in it a user or a server typed, so
everything that could hold a secret) are redacted once, when the line is built, against the secrets every handler
redacts; its text is formatted only if a handler emits it, and then once. The redaction filter recognises such a
record and does not scrub it again. Every other record is scrubbed as before (message, arguments, fields, exception,
stack). Text logs also escape control characters in every message, so a newline or an ANSI escape in a command name,
option or locale cannot forge a second line or repaint the terminal.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
# The line format discord.utils.setup_logging uses, so bot and library lines read alike.
TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_MIN_SECRET = 8

# Every secret any installed redaction filter removes: an InteractionLine redacts against all of them at once.
_registered_secrets: tuple[str, ...] = ()


def register_secrets(secrets: Iterable[str]) -> tuple[str, ...]:
    """Add `secrets` to the set every InteractionLine is redacted against; returns the long-enough ones."""
    global _registered_secrets
    usable = tuple(s for s in secrets if len(s) >= _MIN_SECRET)
    _registered_secrets = tuple(dict.fromkeys((*_registered_secrets, *usable)))
    return usable


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    for secret in _registered_secrets if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# C0 controls (but tab), DEL, C1 controls and the Unicode line and paragraph separators, as Python escapes them.
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029) if c != 0x09}


def one_line(text: str) -> str:
    """`text` with every control character escaped (\\n, \\x1b, \\u2028 ...): it cannot end the line it is on."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def _word(value: object) -> str:
    """A name in a log line (command, option name, locale): as is when it is a plain word, else quoted and escaped."""
    text = str(value)
    return text if text and text.isprintable() and " " not in text else repr(text)


def emit(logger: logging.Logger, line: InteractionLine, level: int = logging.INFO) -> None:
    """Log `line` without the caller lookup logging.info() makes (a stack walk per record, not shown in either
    format): the record goes straight to the handlers."""
    if logger.isEnabledFor(level):
        record = logger.makeRecord(logger.name, level, "(interaction)", 0, line, (), None)
        record.fields = line.fields  # as any record with structured fields carries them
        logger.handle(record)


class InteractionLine:
    """The one INFO line per interaction: what was asked, how fast, from the cache or not, how it ended.

    Built on the answer path, so it is cheap there: the strings are redacted once here, the text is made only when a
    handler formats the record (`str()`), and the JSON formatter takes `fields` as they are.
    """

    __slots__ = ("_text", "fields", "secrets")

    def __init__(
        self,
        command: str,
        options: Mapping[str, object],
        locale: str | None,
        guild: int | None,
        latency_ms: float | None,
        cache: str | None,
        outcome: str,
    ) -> None:
        secrets = self.secrets = _registered_secrets
        shown = {name: value for name, value in options.items() if value is not None}
        typed = [command, outcome, locale or "", *shown, *(v for v in shown.values() if isinstance(v, str))]
        if secrets and any(secret in text for text in typed for secret in secrets):  # rare: redact field by field
            command, outcome = redact(command, secrets), redact(outcome, secrets)
            locale = redact(locale, secrets) if locale is not None else None
            shown = {redact(k, secrets): redact(v, secrets) if isinstance(v, str) else v for k, v in shown.items()}
        self.fields: dict[str, Any] = {
            "command": command,
            "options": shown,
            "locale": locale,
            "guild": guild,
            "latency_ms": latency_ms,
            "cache": cache,
            "outcome": outcome,
        }
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            f = self.fields
            shown = "".join(f" {_word(k)}={v!r}" for k, v in f["options"].items())
            self._text = (
                f"/{_word(f['command'])}{shown} locale={_word(f['locale'])} {f['latency_ms']}ms "
                f"cache={f['cache'] or '-'} outcome={_word(f['outcome'])}"
            )  # cache "-": no answer cache was involved (input errors, stale buttons, cooldowns)
        return self._text


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever path a secret takes into a log record — message, arguments, structured fields,
    exception or stack text — it leaves as [redacted]."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = list(register_secrets(secrets))
        self._secret_set = frozenset(self.secrets)

    def scrub(self, value: Any) -> Any:
        """The value with every secret replaced; containers are copied, never changed in place."""
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.scrub(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        text = str(value)  # anything else is logged through str(): scrub that text if it carries a secret
        return self.scrub(text) if any(s in text for s in self.secrets) else value

    def _already_redacted(self, record: logging.LogRecord) -> bool:
        msg = record.msg
        return (
            isinstance(msg, InteractionLine)
            and not record.args
            and record.exc_info is None
            and record.stack_info is None
            and self._secret_set.issubset(msg.secrets)
        )

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets or self._already_redacted(record):
            return True
        message = record.getMessage()
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        fields = _fields(record)
        if fields is not None:
            record.fields = self.scrub(fields)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any] | None:
    fields = getattr(record, "fields", None)
    if fields is None and isinstance(record.msg, InteractionLine):
        return record.msg.fields
    return fields


class TextFormatter(logging.Formatter):
    """discord.py's line format; the message (not the traceback under it) is kept to one line."""

    _second = -1
    _stamp = ""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # The stamp has whole seconds: made once per second, not once per record.
        second = int(record.created)
        if second != self._second or datefmt != TEXT_DATE_FORMAT:
            self._second, self._stamp = second, super().formatTime(record, datefmt)
        return self._stamp


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's structured `fields`, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # A field named "message" or "level" cannot masquerade as the record's own.
        entry.update((k, v) for k, v in (_fields(record) or {}).items() if k not in entry)
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """One stderr handler on the root logger (bot and discord.py alike), as discord.utils.setup_logging(root=True)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(TEXT_FORMAT, TEXT_DATE_FORMAT, style="{"))
    # Neither format shows the thread or process: don't look them up for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.setLevel(_level(level))
    root.addHandler(handler)


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper())
    return value if isinstance(value, int) else logging.INFO
