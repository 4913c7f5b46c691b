"""One app_commands.Translator for every registered string, fed from config/commands.toml.

Strings are registered as locale_str with a `key` extra ("commands.inflow", "topics.rules", ...); Chinese clients
(zh-TW, and zh-CN with the same Traditional text until a Simplified translation exists) see the zh-TW label.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.facts import Facts

CHINESE_LOCALES = (discord.Locale.taiwan_chinese, discord.Locale.chinese)


def key_str(text: str, key: str) -> app_commands.locale_str:
    return app_commands.locale_str(text, key=key)


class LabelTranslator(app_commands.Translator):
    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        if locale not in CHINESE_LOCALES or not isinstance(key, str) or "." not in key:
            return None
        group, name = key.split(".", 1)
        try:
            return self.facts.label(group, name, "zh-TW")
        except (AttributeError, KeyError):
            return None
