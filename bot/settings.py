"""Settings from the environment (and an optional .env). The token is a SecretStr: never logged or echoed.

Every field here is documented in the README's configuration reference and in .env.example (a test checks).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    # PostgreSQL for state shared by several processes; unset: the SQLite file at BOT_DB_PATH.
    database_url: SecretStr | None = Field(default=None, alias="BOT_DATABASE_URL")
    database_pool_max: int = Field(default=10, alias="BOT_DATABASE_POOL_MAX", ge=1, le=1000)
    # Gateway clusters: this process runs shards BOT_SHARD_IDS ("0-3", "0,2") of BOT_SHARD_COUNT.
    shard_count: int | None = Field(default=None, alias="BOT_SHARD_COUNT", ge=1)
    shard_ids_text: str | None = Field(default=None, alias="BOT_SHARD_IDS")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("BOT_DATABASE_URL must start with postgresql:// (unset it to use SQLite)")
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

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        # Docker secrets arrive as files; the environment variable wins when both are set.
        if self.discord_token is None and self.discord_token_file is not None:
            try:
                self.discord_token = SecretStr(self.discord_token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ValueError(f"DISCORD_TOKEN_FILE cannot be read: {exc.strerror}") from None
        return self

    @property
    def has_token(self) -> bool:
        return self.discord_token is not None and bool(self.discord_token.get_secret_value().strip())

    def secrets(self) -> list[str]:
        """Values that must never appear in logs or output."""
        found = [s.get_secret_value() for s in (self.discord_token, self.market_api_key) if s and s.get_secret_value()]
        if self.database_url is not None:
            url = self.database_url.get_secret_value()
            found += [url, *([p] if (p := urlsplit(url).password) else [])]
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
