"""Settings from the environment (and an optional .env). The token is a SecretStr: never logged or echoed."""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    db_path: Path = Field(default=Path("data/bot.sqlite3"), alias="BOT_DB_PATH")
    market_enabled: bool = Field(default=True, alias="BOT_MARKET_ENABLED")
    market_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.coingecko.com/api/v3"), alias="BOT_MARKET_API_URL"
    )
    market_api_key: SecretStr | None = Field(default=None, alias="BOT_MARKET_API_KEY")
    dev_guild_id: int | None = Field(default=None, alias="BOT_DEV_GUILD_ID")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")

    @property
    def has_token(self) -> bool:
        return self.discord_token is not None and bool(self.discord_token.get_secret_value().strip())
