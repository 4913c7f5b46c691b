"""Settings from the environment (and an optional .env). The token is a SecretStr: never logged or echoed.

Every field here is documented in the README's configuration reference and in .env.example (a test checks).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.infra.dburl import DatabaseURLError, parse_database_url, url_secrets

TOKEN_FILE_MAX_BYTES = 4096  # a bot token is about 72 characters; anything far larger is the wrong file


class TokenFileError(ValueError):
    """DISCORD_TOKEN_FILE gives no usable token; the message is one line that never contains file content."""


def read_token_file(path: Path) -> str:
    """The token in a (Docker secret) file: a regular file of at most 4 KiB, opened without blocking.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; fstat on the open descriptor
    then rejects FIFOs, devices (/dev/zero) and directories without reading a byte of them.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise TokenFileError(f"DISCORD_TOKEN_FILE cannot be read: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TokenFileError("DISCORD_TOKEN_FILE is not a regular file (a FIFO, device or directory?)")
        data = b""
        while len(data) <= TOKEN_FILE_MAX_BYTES and (chunk := os.read(fd, TOKEN_FILE_MAX_BYTES + 1 - len(data))):
            data += chunk
    except OSError as exc:
        raise TokenFileError(f"DISCORD_TOKEN_FILE cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > TOKEN_FILE_MAX_BYTES:
        raise TokenFileError(
            f"DISCORD_TOKEN_FILE is larger than {TOKEN_FILE_MAX_BYTES} bytes: it should hold the token only"
        )
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise TokenFileError("DISCORD_TOKEN_FILE is not UTF-8 text") from None
    if not token:
        raise TokenFileError("DISCORD_TOKEN_FILE is empty")
    return token


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_token_file: Path | None = Field(default=None, alias="DISCORD_TOKEN_FILE")
    db_path: Path = Field(default=Path("data/bot.sqlite3"), alias="BOT_DB_PATH")
    market_enabled: bool = Field(default=True, alias="BOT_MARKET_ENABLED")
    market_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.coingecko.com/api/v3"), alias="BOT_MARKET_API_URL"
    )
    market_api_key: SecretStr | None = Field(default=None, alias="BOT_MARKET_API_KEY")
    dev_guild_id: int | None = Field(default=None, alias="BOT_DEV_GUILD_ID")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field(default="text", alias="LOG_FORMAT")
    health_max_age_seconds: int = Field(default=180, alias="BOT_HEALTH_MAX_AGE", gt=0)
    # HTTP interactions endpoint (`python -m bot serve`)
    discord_public_key: str | None = Field(default=None, alias="DISCORD_PUBLIC_KEY")
    discord_api_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://discord.com/api/v10"), alias="BOT_DISCORD_API_URL")
    http_host: str = Field(default="127.0.0.1", alias="BOT_HTTP_HOST")
    http_port: int = Field(default=8080, alias="BOT_HTTP_PORT", ge=0, le=65535)
    # PostgreSQL for state shared by several processes; unset: the SQLite file at BOT_DB_PATH.
    database_url: SecretStr | None = Field(default=None, alias="BOT_DATABASE_URL")
    database_pool_max: int = Field(default=10, alias="BOT_DATABASE_POOL_MAX", ge=1, le=1000)
    # Gateway clusters: this process runs shards BOT_SHARD_IDS ("0-3", "0,2") of BOT_SHARD_COUNT.
    shard_count: int | None = Field(default=None, alias="BOT_SHARD_COUNT", ge=1)
    shard_ids_text: str | None = Field(default=None, alias="BOT_SHARD_IDS")
    # Prometheus /metrics on a listener of its own (unset: off for `run`; `serve` has it on its own port then).
    metrics_port: int | None = Field(default=None, alias="BOT_METRICS_PORT", ge=0, le=65535)
    metrics_host: str = Field(default="127.0.0.1", alias="BOT_METRICS_HOST")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                parse_database_url(value.get_secret_value())
            except DatabaseURLError as exc:  # one line naming the host, never the password
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _shards(self) -> Settings:
        if self.shard_ids_text is not None:
            if self.shard_count is None:
                raise ValueError("BOT_SHARD_IDS needs BOT_SHARD_COUNT (the total number of shards)")
            parse_shard_ids(self.shard_ids_text, self.shard_count)
        return self

    @property
    def shard_ids(self) -> list[int] | None:
        """The shards this process runs, or None for all of them."""
        if self.shard_ids_text is None or self.shard_count is None:
            return None
        return parse_shard_ids(self.shard_ids_text, self.shard_count)

    _token_error: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        # Docker secrets arrive as files; the environment variable wins when both are set. A bad file is not an
        # error here: ask, check-config and the console need no token, so only run/sync report it (token_error).
        if self.discord_token is None and self.discord_token_file is not None:
            try:
                self.discord_token = SecretStr(read_token_file(self.discord_token_file))
            except TokenFileError as exc:
                self._token_error = str(exc)
        return self

    @property
    def token_error(self) -> str | None:
        """Why DISCORD_TOKEN_FILE gave no token (one line), or None."""
        return self._token_error

    @property
    def has_token(self) -> bool:
        """A token is configured: DISCORD_TOKEN, or DISCORD_TOKEN_FILE even when it cannot be read, so that
        `python -m bot` reports a broken file instead of quietly opening the offline console."""
        if self._token_error is not None:
            return True
        return self.discord_token is not None and bool(self.discord_token.get_secret_value().strip())

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or output."""
        found = [s.get_secret_value() for s in (self.discord_token, self.market_api_key) if s and s.get_secret_value()]
        if self.database_url is not None:
            found += url_secrets(self.database_url.get_secret_value())
            # The PostgreSQL client reads PGPASSWORD when the URL has none (what the compose files do).
            found += [p] if (p := os.environ.get("PGPASSWORD")) else []
        return found


def parse_shard_ids(text: str, count: int) -> list[int]:
    """'0-3' -> [0, 1, 2, 3]; '0,2' -> [0, 2]; every id below count, none twice."""
    ids: list[int] = []
    for part in text.replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"BOT_SHARD_IDS {text!r}: use shard numbers like 0-3 or 0,2")
        ids += range(int(match[1]), int(match[2] or match[1]) + 1)
    if not ids or len(set(ids)) != len(ids) or max(ids) >= count:
        raise ValueError(f"BOT_SHARD_IDS {text!r}: each shard once, each below BOT_SHARD_COUNT={count}")
    return sorted(ids)
