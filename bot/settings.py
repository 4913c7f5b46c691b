"""Settings from the environment (and an optional .env). The token is a SecretStr: never logged or echoed.

Every field here is documented in the README's configuration reference and in .env.example (a test checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
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
    # HTTP interactions endpoint (`python -m bot serve`)
    discord_public_key: str | None = Field(default=None, alias="DISCORD_PUBLIC_KEY")
    discord_api_url: AnyHttpUrl = Field(default=AnyHttpUrl("https://discord.com/api/v10"), alias="BOT_DISCORD_API_URL")
    http_host: str = Field(default="127.0.0.1", alias="BOT_HTTP_HOST")
    http_port: int = Field(default=8080, alias="BOT_HTTP_PORT", ge=0, le=65535)

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
        return [s.get_secret_value() for s in (self.discord_token, self.market_api_key) if s and s.get_secret_value()]
