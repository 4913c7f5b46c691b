"""The transport-neutral handler with plain data: language order, permission bits, deferral, parsing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.answers.core import Core
from bot.answers.render import Renderer
from bot.domain.facts import Facts
from bot.infra.cooldown import MemoryCooldown, cooldown_for
from bot.interactions import BadInteraction, Interaction, InteractionHandler, Kind, ReplyKind, from_payload
from bot.interactions.model import ADMINISTRATOR, MANAGE_GUILD
from bot.store import SQLiteStore, Store
from bot.store.postgres import PostgresStore
from tests.http.helpers import autocomplete, click, command, message_from

GUILD, USER = 7, 42


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with SQLiteStore(tmp_path / "bot.sqlite3") as opened:
        yield opened


@pytest.fixture
def handler(facts: Facts, renderer: Renderer, store: Store) -> InteractionHandler:
    return InteractionHandler(Core(facts, renderer, store=store), store, MemoryCooldown(1000, 30.0))


def _command(name: str, options: dict[str, Any] | None = None, **kwargs: Any) -> Interaction:
    fields: dict[str, Any] = {"locale": "en-US", "user_id": USER, "guild_id": GUILD} | kwargs
    return Interaction(Kind.COMMAND, name=name, options=options or {}, **fields)


async def _title(handler: InteractionHandler, interaction: Interaction) -> str:
    outcome = await handler.handle(interaction)
    assert outcome.reply.answer is not None
    return outcome.reply.answer.title


async def test_language_order_explicit_user_server_locale(handler: InteractionHandler, store: Store) -> None:
    sources = _command("sources", locale="zh-TW")
    assert await handler.resolve_lang(sources) == "zh-TW"  # the client's locale
    await store.set_language("guild", GUILD, "en")
    assert await handler.resolve_lang(sources) == "en"  # the server default beats the locale
    await store.set_language("user", USER, "zh-TW")
    assert await handler.resolve_lang(_command("sources", locale="en-US")) == "zh-TW"  # the user beats the server
    assert await handler.resolve_lang(sources, explicit="en") == "en"  # an explicit choice beats everything
    assert await _title(handler, _command("sources", locale="en-US")) == "每個數字的出處"


@pytest.mark.parametrize(
    ("permissions", "guild", "allowed"),
    [(0, GUILD, False), (MANAGE_GUILD, GUILD, True), (ADMINISTRATOR, GUILD, True), (MANAGE_GUILD, None, False)],
)
async def test_server_default_needs_manage_server_or_administrator(
    handler: InteractionHandler, store: Store, permissions: int, guild: int | None, allowed: bool
) -> None:
    interaction = _command("language", {"language": "zh-TW", "server": True}, permissions=permissions, guild_id=guild)
    outcome = await handler.handle(interaction)
    assert outcome.reply.answer is not None and outcome.reply.answer.ephemeral
    assert outcome.reply.answer.is_error is not allowed
    assert (await store.get_language("guild", GUILD)) == ("zh-TW" if allowed else None)


def _hold_respond(handler: InteractionHandler, monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Make core.respond wait until the returned event is set: an answer that is not ready yet."""
    release = asyncio.Event()
    original = handler.core.respond

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(handler.core, "respond", slow)
    return release


async def test_a_slow_answer_is_deferred_and_finished_by_the_task(
    handler: InteractionHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = _hold_respond(handler, monkeypatch)
    handler.defer_after = 0.05
    outcome = await handler.handle(_command("opinions"))
    assert outcome.reply.kind is ReplyKind.DEFERRED_MESSAGE and outcome.final is not None
    release.set()
    final = await outcome.final
    assert final.kind is ReplyKind.MESSAGE and final.answer is not None
    assert final.answer.title.startswith("What analysts say")


async def test_inflow_not_in_memory_defers_at_once_and_a_cached_answer_never_defers(
    handler: InteractionHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler.defer_after = 60.0  # neither outcome below may wait for this
    assert (await handler.handle(_command("opinions"))).reply.kind is ReplyKind.MESSAGE  # now in memory
    release = _hold_respond(handler, monkeypatch)
    cached = await asyncio.wait_for(handler.handle(_command("opinions", user_id=USER + 1)), 5)
    assert cached.reply.kind is ReplyKind.MESSAGE and cached.final is None  # from memory: respond() not awaited
    outcome = await asyncio.wait_for(handler.handle(_command("inflow", {"allocation": "2%"})), 5)
    assert outcome.reply.kind is ReplyKind.DEFERRED_MESSAGE and outcome.final is not None
    release.set()
    final = await outcome.final
    assert final.kind is ReplyKind.MESSAGE and final.answer is not None and not final.answer.is_error


async def test_language_defers_privately(handler: InteractionHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    async def locked(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(1)

    monkeypatch.setattr(handler.store, "set_language", locked)
    handler.defer_after = 0.05
    outcome = await handler.handle(_command("language", {"language": "zh-TW"}))
    assert outcome.reply.kind is ReplyKind.DEFERRED_MESSAGE and outcome.reply.ephemeral
    assert outcome.final is not None
    outcome.final.cancel()


async def test_unknown_command_and_autocomplete_never_raise(handler: InteractionHandler) -> None:
    outcome = await handler.handle(_command("nope"))
    assert outcome.reply.answer is not None and outcome.reply.answer.is_error
    empty = await handler.handle(Interaction(Kind.AUTOCOMPLETE, name="inflow", focused="pool", options={"pool": ""}))
    assert empty.reply.kind is ReplyKind.AUTOCOMPLETE and empty.reply.choices == ()


def test_parse_a_command_a_click_and_an_autocomplete() -> None:
    parsed = from_payload(command("language", {"language": "zh-TW", "server": True}, locale="zh-TW", user_id=5))
    assert (parsed.kind, parsed.name, parsed.user_id, parsed.locale) == (Kind.COMMAND, "language", 5, "zh-TW")
    assert parsed.options == {"language": "zh-TW", "server": True}
    assert parsed.permissions & MANAGE_GUILD == 0
    message = message_from({"components": [{"type": 1, "components": [{"type": 2, "custom_id": "k4|sources|en|1|"}]}]})
    clicked = from_payload(click(message, "k4|sources|en|1|"))
    assert clicked.kind is Kind.COMPONENT and clicked.message_custom_ids == ("k4|sources|en|1|",)
    typed = from_payload(autocomplete("inflow", {"allocation": "2", "pool": "dc"}, "allocation"))
    assert typed.kind is Kind.AUTOCOMPLETE and typed.focused == "allocation" and typed.options["pool"] == "dc"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"type": 2},
        {"type": 9, "application_id": "1", "token": "t"},
        {"type": 2, "application_id": "x", "token": "t"},
        {"type": 2, "application_id": "1", "token": "t", "data": {"name": "sources"}},  # no user
        {"type": 3, "application_id": "1", "token": "t", "user": {"id": "5"}, "data": {"values": "risks"}},
    ],
)
def test_malformed_payloads_are_bad_interactions(body: Any) -> None:
    with pytest.raises(BadInteraction):
        from_payload(body)


async def test_a_command_on_a_shared_store_costs_one_store_call(
    facts: Facts, renderer: Renderer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cooldown in PostgreSQL, the languages are read in the statement that counts the use."""
    async with PostgresStore(pg_url) as shared:
        handler = InteractionHandler(Core(facts, renderer, store=shared), shared, cooldown_for(shared))
        await shared.set_language("user", USER, "zh-TW")
        calls: list[str] = []
        for name in ("get_languages", "get_language", "cooldown_hit", "languages_and_cooldown"):
            real = getattr(shared, name)

            async def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
                calls.append(_name)
                return await _real(*args)

            monkeypatch.setattr(shared, name, spy)
        assert await _title(handler, _command("sources")) == "每個數字的出處"
        assert calls == ["languages_and_cooldown"]
        for _ in range(4):
            await handler.handle(_command("sources"))
        refused = await handler.handle(_command("sources"))  # the sixth use within 30 s
        assert refused.reply.answer is not None and refused.reply.answer.ephemeral
        assert refused.reply.answer.description == "操作太快了——請在30秒後再試。"  # in the user's saved language
        assert calls == ["languages_and_cooldown"] * 6
