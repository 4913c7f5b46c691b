"""Logging with the standard library (discord.py's line format, or JSON lines for log shippers), secrets redacted.

No discord import here: every CLI call (the Docker HEALTHCHECK too) sets up logging, and must not pay for discord.py.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
# The line format discord.utils.setup_logging uses, so bot and library lines read alike.
TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever path a secret takes into a log record — message, arguments, structured fields,
    exception or stack text — it leaves as [redacted]."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 8]

    def scrub(self, value: Any) -> Any:
        """The value with every secret replaced; containers are copied, never changed in place."""
        if isinstance(value, str):
            for secret in self.secrets:
                value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.scrub(v) for v in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        text = str(value)  # anything else is logged through str(): scrub that text if it carries a secret
        return self.scrub(text) if any(s in text for s in self.secrets) else value

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
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
        fields = getattr(record, "fields", None)
        if fields is not None:
            record.fields = self.scrub(fields)
        return True


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
        entry.update((k, v) for k, v in (getattr(record, "fields", None) or {}).items() if k not in entry)
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
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT, style="{"))
    root = logging.getLogger()
    root.setLevel(_level(level))
    root.addHandler(handler)


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper())
    return value if isinstance(value, int) else logging.INFO
