"""One app_commands.Translator for every registered string, fed from config/commands.toml.

Strings are registered as locale_str with a `key` extra ("commands.inflow", "topics.rules", ...); zh-TW clients see
the zh-TW label, zh-CN clients its Simplified conversion (Facts.label). Discord has no zh-HK locale.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.domain.facts import Facts
from bot.domain.language import lang_from_locale


def key_str(text: str, key: str) -> app_commands.locale_str:
    return app_commands.locale_str(text, key=key)


class LabelTranslator(app_commands.Translator):
    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        lang = lang_from_locale(locale.value)  # as the handler picks an answer's language from a client's locale
        if lang == "en" or not isinstance(key, str) or "." not in key:
            return None
        group, name = key.split(".", 1)
        try:
            return self.facts.label(group, name, lang)
        except (AttributeError, KeyError):
            return None
