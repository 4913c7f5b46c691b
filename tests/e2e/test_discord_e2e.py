"""The real bot, through discord.py's real wire path, against the loopback fake Discord."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.answers.requests import parse_request
from bot.discord_wire.message import message_payload
from bot.domain.facts import Facts
from bot.gateway.client import K401Bot
from bot.gateway.runner import token_problem
from bot.infra.settings import Settings
from bot.store import SQLiteStore
from tests.e2e.fake_discord import ADMIN_PERMISSIONS, FakeDiscord, Reply
from tests.e2e.helpers import CLIENT_LOCALES, EVERY_COMMAND, TOKEN, Harness, check_limits, start_bot, stop_bot
from tests.fakes import point_discord_py_at

NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
VALID_LOCALES = {locale.value for locale in discord.Locale}

# ---------------------------------------------------------------- start-up and sync


async def test_login_identify_and_minimal_intents(harness: Harness) -> None:
    fake = harness.fake
    assert fake.login_token == f"Bot {TOKEN}"
    assert len(fake.identifies) == 1
    identify = fake.identifies[0]
    assert identify["intents"] == discord.Intents(guilds=True).value  # nothing privileged
    assert identify["shard"] == [0, 1]  # automatic sharding, as /gateway/bot recommended
    assert fake.compressions == [discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE]
    assert harness.bot.get_guild(1_300_000_000_000_000_002) is not None


async def test_synced_commands_follow_discords_rules(harness: Harness) -> None:
    commands = harness.fake.synced["global"]
    assert {c["name"] for c in commands} == {"401k", "inflow", "opinions", "sources", "language", "faq"}
    for command in commands:
        assert NAME_RE.match(command["name"]) and command["name"] == command["name"].lower()
        assert 1 <= len(command["description"]) <= 100
        for locale, text in (command.get("description_localizations") or {}).items():
            assert locale in VALID_LOCALES and 1 <= len(text) <= 100
        assert set(command.get("description_localizations") or {}) == {"zh-TW", "zh-CN"}
        for option in command.get("options", []):
            assert NAME_RE.match(option["name"]) and 1 <= len(option["description"]) <= 100
            for locale, name in (option.get("name_localizations") or {}).items():
                assert locale in VALID_LOCALES
                assert re.match(r"^[-_'\w]{1,32}$", name) and name == name.lower(), name
            for locale, text in (option.get("description_localizations") or {}).items():
                assert locale in VALID_LOCALES and 1 <= len(text) <= 100
            choices = option.get("choices", [])
            assert len(choices) <= 25
            for choice in choices:
                assert 1 <= len(choice["name"]) <= 100
                for locale, text in (choice.get("name_localizations") or {}).items():
                    assert locale in VALID_LOCALES and 1 <= len(text) <= 100
    inflow = next(c for c in commands if c["name"] == "inflow")
    allocation = next(o for o in inflow["options"] if o["name"] == "allocation")
    assert allocation["max_length"] == 32 and allocation["autocomplete"] is True and allocation["required"] is True
    pool = next(o for o in inflow["options"] if o["name"] == "pool")
    assert [c["value"] for c in pool["choices"]] == ["401k", "dc", "retirement"]
    assert pool["name_localizations"]["zh-TW"] == "資金池"
    faq = next(c for c in commands if c["name"] == "faq")
    (question,) = faq["options"]
    assert (question["name"], question["autocomplete"], question.get("required", False)) == ("question", True, False)
    assert question["name_localizations"]["zh-TW"] == "問題" and question["max_length"] == 100


async def test_registered_strings_match_the_labels_in_config(harness: Harness, facts: Facts) -> None:
    """The English texts in the cog and the zh-TW translations both come from config/commands.toml."""
    for command in harness.fake.synced["global"]:
        name = command["name"]
        assert command["description"] == facts.label("commands", name, "en")
        assert command["description_localizations"]["zh-TW"] == facts.label("commands", name, "zh-TW")
        for option in command.get("options", []):
            assert option["description"] == facts.label("option_descriptions", option["name"], "en")
            assert option["name_localizations"]["zh-TW"] == facts.label("option_names", option["name"], "zh-TW")
            group = {"topic": "topics", "pool": "pools", "stance": "stances", "language": "languages"}.get(
                option["name"]
            )
            for choice in option.get("choices", []):
                assert group is not None
                assert choice["name"] == facts.label(group, choice["value"], "en")
                assert choice["name_localizations"]["zh-TW"] == facts.label(group, choice["value"], "zh-TW")


async def test_sync_happens_only_when_the_payload_changes(harness: Harness) -> None:
    calls = harness.fake.sync_calls
    assert calls == 1
    assert not await harness.bot.sync_commands()
    assert harness.fake.sync_calls == calls
    assert await harness.bot.sync_commands(force=True)
    assert harness.fake.sync_calls == calls + 1
    assert await harness.bot.sync_commands(guild_id=1_300_000_000_000_000_002)
    assert "1300000000000000002" in harness.fake.synced


# ---------------------------------------------------------------- commands in both languages


@pytest.mark.parametrize("locale", CLIENT_LOCALES)
@pytest.mark.parametrize(
    ("name", "options"),
    EVERY_COMMAND,
)
async def test_every_command_answers_within_limits(
    harness: Harness, name: str, options: dict[str, str], locale: str
) -> None:
    token = await harness.fake.command(name, options, locale=locale)
    reply = await harness.fake.wait_reply(token)
    check_limits(reply)
    assert reply.data["allowed_mentions"] == {"parse": []}
    chinese = re.search(r"[\u4e00-\u9fff]", reply.embed["title"]) is not None
    assert chinese == locale.startswith("zh")


async def test_inflow_numbers_in_both_languages(harness: Harness) -> None:
    en = await harness.fake.wait_reply(await harness.fake.command("inflow", {"allocation": "2%"}))
    assert en.kind == "edit_original"  # deferred first: market data may take a moment
    assert harness.fake.replies[en_token(harness, en)][0].body["type"] == 5
    assert en.embed["description"].startswith("**$200 billion** of new buying")
    zh_token = await harness.fake.command("inflow", {"allocation": "1%", "pool": "retirement"}, locale="zh-TW")
    zh = await harness.fake.wait_reply(zh_token)
    assert zh.embed["description"].startswith("新增買盤 **4,810億美元**")


def en_token(harness: Harness, reply: Reply) -> str:
    return next(t for t, replies in harness.fake.replies.items() if reply in replies)


async def test_callback_body_is_exactly_the_cli_json_payload(harness: Harness, facts: Facts) -> None:
    token = await harness.fake.command("opinions", {"stance": "supportive"})
    reply = await harness.fake.wait_reply(token)
    assert reply.body["type"] == 4
    expected = message_payload(await harness.core.answer(parse_request("/opinions stance:supportive", facts), "en"))
    assert reply.body["data"] == expected


# ---------------------------------------------------------------- components


async def test_topic_select_switches_in_place(harness: Harness) -> None:
    fake = harness.fake
    token = await fake.command("401k")
    first = await fake.wait_reply(token)
    select = first.data["components"][0]["components"][0]
    assert select["type"] == 3
    click = await fake.click(token, select["custom_id"], values=["risks"])
    update = await fake.wait_reply(click)
    assert update.body["type"] == 7  # UPDATE_MESSAGE: the same message, edited
    assert update.embed["title"] == "Risks and open questions"
    options = update.data["components"][0]["components"][0]["options"]
    assert [o["value"] for o in options if o.get("default")] == ["risks"]


async def test_page_buttons_walk_the_opinions(harness: Harness) -> None:
    fake = harness.fake
    token = await fake.command("opinions")
    first = await fake.wait_reply(token)
    buttons = first.data["components"][0]["components"]
    assert [b["label"] for b in buttons] == ["Previous", "Next", "繁體中文", "简体中文"]
    assert buttons[0]["disabled"] is True
    update = await fake.wait_reply(await fake.click(token, buttons[1]["custom_id"]))
    assert update.body["type"] == 7
    assert update.embed["footer"]["text"].startswith("Page 2/2")
    assert [f["name"].split(" — ")[0][2:] for f in update.embed["fields"]] == [
        "Christopher Bailey",
        "Philitsa Hanson",
        "Traditional finance",
    ]


async def test_language_toggle_rerenders_the_inflow_answer_in_chinese(harness: Harness) -> None:
    fake = harness.fake
    token = await fake.command("inflow", {"allocation": "2%"})
    first = await fake.wait_reply(token)
    toggle = first.data["components"][-1]["components"][0]
    assert toggle["custom_id"] == "k4|inflow|zh-TW|0|2%|401k"
    update = await fake.wait_reply(await fake.click(token, toggle["custom_id"]))
    assert update.kind == "edit_original"
    assert update.embed["title"] == "如果 401(k) 計畫資產的2%投入加密貨幣"
    assert update.data["components"][-1]["components"][-1]["label"] == "English"


async def test_components_work_after_a_restart(harness: Harness) -> None:
    fake = harness.fake
    token = await fake.command("401k")
    select = (await fake.wait_reply(token)).data["components"][0]["components"][0]
    await stop_bot(harness.bot, harness.task)
    fake.ready.clear()
    harness.bot, harness.task = await start_bot(fake, harness.core, harness.store)
    assert len(fake.identifies) == 2 and fake.sync_calls == 1  # a restart does not re-sync unchanged commands
    update = await fake.wait_reply(await fake.click(token, select["custom_id"], values=["order"]))
    assert update.embed["title"].startswith("Executive Order 14330 of")


# ---------------------------------------------------------------- autocomplete


async def test_allocation_autocomplete(harness: Harness) -> None:
    reply = await harness.fake.wait_reply(await harness.fake.autocomplete("inflow", {"allocation": "2"}, "allocation"))
    assert reply.body["type"] == 8
    choices = reply.body["data"]["choices"]
    assert choices[0] == {"name": "2% → $200 billion (401(k))", "value": "2"}
    assert all(len(c["name"]) <= 100 for c in choices)


async def test_allocation_autocomplete_offers_examples_for_nonsense(harness: Harness) -> None:
    token = await harness.fake.autocomplete("inflow", {"allocation": "abc"}, "allocation", locale="zh-TW")
    choices = (await harness.fake.wait_reply(token)).body["data"]["choices"]
    assert choices and all(c["value"] != "abc" for c in choices)
    assert "億美元" in choices[0]["name"]


async def test_analyst_autocomplete(harness: Harness) -> None:
    token = await harness.fake.autocomplete("opinions", {"analyst": "ross"}, "analyst")
    choices = (await harness.fake.wait_reply(token)).body["data"]["choices"]
    assert choices == [{"name": "Ted Rossman — Bankrate", "value": "rossman"}]


# ---------------------------------------------------------------- errors, cooldown, pressure


async def test_input_error_is_ephemeral_and_pings_nobody(harness: Harness) -> None:
    reply = await harness.fake.wait_reply(await harness.fake.command("inflow", {"allocation": "@everyone"}))
    assert reply.body["type"] == 4
    assert reply.data["flags"] == 64
    assert reply.data["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in str(reply.body)
    assert reply.embed["description"] == "“@\u200beveryone” is not a percentage. Try `2%`, `0.5%` or `1-5%`."


async def test_input_error_in_chinese(harness: Harness) -> None:
    token = await harness.fake.command("inflow", {"allocation": "5-1%"}, locale="zh-TW")
    reply = await harness.fake.wait_reply(token)
    assert "區間前後顛倒" in reply.embed["description"] and reply.data["flags"] == 64


async def test_handler_exception_apologises_with_an_error_id_and_the_bot_goes_on(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = harness.core.respond

    async def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(harness.core, "respond", explode)
    reply = await harness.fake.wait_reply(await harness.fake.command("401k"))
    assert reply.data["flags"] == 64
    error_id = re.search(r"Error id `([0-9a-f]{8})`", reply.embed["description"])
    assert error_id is not None
    assert error_id.group(1) in caplog.text and "kaboom" in caplog.text
    monkeypatch.setattr(harness.core, "respond", original)
    again = await harness.fake.wait_reply(await harness.fake.command("401k"))
    assert again.embed["title"].startswith("What the Aug 7, 2025 executive order could change")


async def test_gateway_drop_resumes_and_answers_the_next_interaction(harness: Harness) -> None:
    fake = harness.fake
    await fake.drop_gateway()
    await asyncio.wait_for(fake.ready.wait(), 30)
    assert fake.resumes == 1 and len(fake.identifies) == 1
    reply = await fake.wait_reply(await fake.command("sources"))
    assert reply.embed["title"] == "Where every figure comes from"


# ---------------------------------------------------------------- language preferences


async def test_language_preference_beats_the_client_locale_and_survives(harness: Harness) -> None:
    fake = harness.fake
    saved = await fake.wait_reply(await fake.command("language", {"language": "zh-TW"}))
    assert saved.embed["description"].startswith("已儲存")
    answer = await fake.wait_reply(await fake.command("401k", locale="en-US"))
    assert answer.embed["title"].startswith("2025年8月7日的行政命令可能為 401(k)")
    auto = await fake.wait_reply(await fake.command("language", {"language": "auto"}))
    assert auto.embed["title"] == "Answer language"


async def test_server_default_needs_manage_server(harness: Harness) -> None:
    fake = harness.fake
    denied = await fake.wait_reply(await fake.command("language", {"language": "zh-TW", "server": True}))
    assert denied.data["flags"] == 64 and "Manage Server" in denied.embed["description"]
    token = await fake.command("language", {"language": "zh-TW", "server": True}, permissions=ADMIN_PERMISSIONS)
    assert (await fake.wait_reply(token)).embed["description"].startswith("已儲存")
    other_user = await fake.wait_reply(await fake.command("sources", user_id=42))
    assert other_user.embed["title"] == "每個數字的出處"  # the server default applies to everyone without a setting


# ---------------------------------------------------------------- tokens


def test_missing_and_malformed_tokens_give_one_clear_line() -> None:
    assert "DISCORD_TOKEN is not set" in (token_problem(Settings(DISCORD_TOKEN=None)) or "")
    assert "does not look like a bot token" in (token_problem(Settings(DISCORD_TOKEN="hunter2")) or "")
    assert token_problem(Settings(DISCORD_TOKEN=TOKEN)) is None


async def test_rejected_token_is_a_login_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, facts: Facts, renderer: Renderer
) -> None:
    fake = FakeDiscord()
    fake.reject_token = True
    await fake.start()
    point_discord_py_at(monkeypatch, fake.api_base)
    try:
        async with SQLiteStore(tmp_path / "s.sqlite3") as store:
            bot = K401Bot(Core(facts, renderer, store=store), store)
            async with bot:
                with pytest.raises(discord.LoginFailure):
                    await bot.login(TOKEN)
    finally:
        await fake.close()


# ---------------------------------------------------------------- chart


@pytest.mark.parametrize(
    ("locale", "title"), [("en-US", "If 2% of 401(k) plan assets"), ("zh-TW", "如果 401(k) 計畫資產的2%")]
)
async def test_inflow_embed_shows_the_attached_chart(harness: Harness, locale: str, title: str) -> None:
    import io

    from PIL import Image

    reply = await harness.fake.wait_reply(await harness.fake.command("inflow", {"allocation": "2%"}, locale=locale))
    assert reply.embed["title"].startswith(title)
    assert reply.embed["image"]["url"] == "attachment://inflow.png"
    assert [name for name, _ in reply.files] == ["inflow.png"]
    image = Image.open(io.BytesIO(reply.files[0][1]))
    assert image.format == "PNG" and image.size == (1200, 675)
    assert reply.data["attachments"] == [{"id": 0, "filename": "inflow.png"}]


# ---------------------------------------------------------------- operations


async def test_one_log_line_per_interaction_with_cache_status(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.interactions.handler"):
        for _ in range(2):
            await harness.fake.wait_reply(
                await harness.fake.command("opinions", {"stance": "critical"}, locale="zh-TW")
            )
    lines = [
        r for r in caplog.records if r.name == "bot.interactions.handler" and r.getMessage().startswith("/opinions")
    ]
    assert len(lines) == 2
    assert [r.fields["cache"] for r in lines] == ["miss", "hit"]  # type: ignore[attr-defined]
    assert lines[0].fields["locale"] == "zh-TW" and lines[0].fields["outcome"] == "answered"  # type: ignore[attr-defined]
    assert "stance='critical'" in lines[0].getMessage()
    assert lines[1].getMessage().startswith("/opinions stance='critical' locale=zh-TW ")
    assert lines[1].getMessage().endswith(" cache=hit outcome=answered")
    with caplog.at_level(logging.INFO, logger="bot.interactions.handler"):
        await harness.fake.wait_reply(await harness.fake.command("sources"))
        await harness.fake.wait_reply(await harness.fake.command("inflow", {"allocation": "abc"}))
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.interactions.handler"]
    assert any(m.startswith("/sources locale=en-US ") for m in messages), messages  # no options: no double space
    assert any(m.endswith("cache=- outcome=input_error:allocation_not_a_number") for m in messages), messages


async def test_bot_writes_the_gateway_heartbeat(harness: Harness) -> None:
    from bot.infra.health import HEARTBEAT_KEY

    async def written() -> str:
        # on_ready (which writes it) runs as its own task after wait_until_ready() returns: wait for the write
        while (stamp := await harness.store.get_meta(HEARTBEAT_KEY)) is None:
            await asyncio.sleep(0.01)
        return stamp

    stamp = await asyncio.wait_for(written(), 10)
    assert abs(float(stamp) - time.time()) < 60
