"""zh-CN readers through discord.py's real wire path and the loopback fake Discord: Simplified answers, 亿/万亿."""

from __future__ import annotations

import io
import re
from typing import Any

import hanzidentifier  # type: ignore[import-untyped]
from PIL import Image

from bot.domain.facts import Facts
from tests.e2e.fake_discord import ADMIN_PERMISSIONS, Reply
from tests.e2e.helpers import Harness, check_limits

NAME_RE = re.compile(r"^[-_'\w]{1,32}$")


def _reply_text(reply: Reply) -> str:
    embed = reply.embed
    parts = [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
    parts += [t for f in embed.get("fields", []) for t in (f["name"], f["value"])]
    for row in reply.data.get("components") or []:
        for component in row["components"]:
            parts.append(component.get("label") or component.get("placeholder") or "")
            parts += [o["label"] for o in component.get("options", [])]
    return "\n".join(parts)


def _assert_simplified(reply: Reply) -> str:
    text = _reply_text(reply)
    assert "兆" not in text.replace("数十兆美元的资金将冲击加密市场!", "")  # the article's title keeps its words
    assert sorted({c for c in text if hanzidentifier.identify(c) == hanzidentifier.TRADITIONAL}) == []
    check_limits(reply)
    return text


async def test_zh_cn_client_gets_simplified_answers_with_yi_and_wan_yi(harness: Harness) -> None:
    fake = harness.fake
    token = await fake.command("inflow", {"allocation": "1%", "pool": "retirement"}, locale="zh-CN")
    reply = await fake.wait_reply(token)
    text = _assert_simplified(reply)
    assert reply.embed["title"] == "如果全美退休资产总额的1%投入加密货币"
    assert reply.embed["description"].startswith("新增买盘 **4810亿美元**")
    assert "48.1万亿美元" in text
    assert Image.open(io.BytesIO(reply.files[0][1])).size == (1200, 675)  # the chart came along

    buttons = reply.data["components"][-1]["components"]
    assert [(b["label"], b["custom_id"]) for b in buttons] == [("English", "k4|inflow|en|0|1%|retirement")]
    english_token = await fake.click(token, buttons[0]["custom_id"], locale="zh-CN")
    english = await fake.wait_reply(english_token)
    assert english.embed["description"].startswith("**$481 billion**")
    toggles = english.data["components"][-1]["components"]
    assert [b["label"] for b in toggles] == ["繁體中文", "简体中文"]
    back = await fake.wait_reply(await fake.click(english_token, toggles[1]["custom_id"], locale="zh-CN"))
    assert back.embed["description"] == reply.embed["description"]


async def test_every_zh_cn_command_reads_simplified(harness: Harness) -> None:
    fake = harness.fake
    asks: list[tuple[str, dict[str, Any]]] = [
        ("401k", {}),
        ("401k", {"topic": "rules"}),
        ("401k", {"topic": "scale"}),
        ("opinions", {"stance": "cautious"}),
        ("opinions", {"analyst": "rossman"}),
        ("sources", {}),
        ("language", {}),
        ("inflow", {"allocation": "5-1%"}),  # an input error, localised
    ]
    for user, (name, options) in enumerate(asks, start=2000):  # one member each: commands have a cooldown
        reply = await fake.wait_reply(await fake.command(name, options, locale="zh-CN", user_id=user))
        _assert_simplified(reply)
    menu = await fake.wait_reply(await fake.command("401k", locale="zh-CN", user_id=2100))
    assert menu.data["components"][0]["components"][0]["placeholder"] == "选择主题"
    pager = await fake.wait_reply(await fake.command("opinions", locale="zh-CN", user_id=2101))
    assert [b["label"] for b in pager.data["components"][0]["components"]] == ["上一页", "下一页", "English"]


async def test_a_members_choice_beats_a_zh_cn_locale_and_a_server_default_can_be_zh_cn(harness: Harness) -> None:
    fake = harness.fake
    saved = await fake.wait_reply(await fake.command("language", {"language": "zh-TW"}, locale="zh-CN"))
    assert saved.embed["description"].startswith("已儲存：之後會用 **繁體中文** 回覆你")
    traditional = await fake.wait_reply(await fake.command("inflow", {"allocation": "1%"}, locale="zh-CN"))
    assert traditional.embed["description"].startswith("新增買盤 **1,000億美元**")

    token = await fake.command("language", {"language": "zh-CN", "server": True}, permissions=ADMIN_PERMISSIONS)
    assert (await fake.wait_reply(token)).embed["title"] == "回覆語言"  # this member still reads Traditional
    other = await fake.wait_reply(await fake.command("inflow", {"allocation": "2%"}, locale="en-US", user_id=42))
    assert other.embed["description"].startswith("新增买盘 **2000亿美元**")  # the server default, not the locale

    mine = await fake.wait_reply(await fake.command("language", {"language": "zh-CN"}, locale="en-US"))
    assert mine.embed["description"].startswith("已保存：之后会用 **简体中文** 回复你")
    assert await harness.store.get_language("user", fake.user_id) == "zh-CN"


async def test_zh_cn_command_metadata_follows_discords_rules(harness: Harness, facts: Facts) -> None:
    commands = harness.fake.synced["global"]
    checked = 0
    for command in commands:
        description = command["description_localizations"]["zh-CN"]
        assert 1 <= len(description) <= 100
        assert description == facts.label("commands", command["name"], "zh-CN")
        for option in command.get("options", []):
            name = option["name_localizations"]["zh-CN"]
            assert NAME_RE.match(name) and name == name.lower(), name
            assert 1 <= len(option["description_localizations"]["zh-CN"]) <= 100
            for choice in option.get("choices", []):
                assert 1 <= len(choice["name_localizations"]["zh-CN"]) <= 100
                checked += 1
            checked += 1
    everything = str([c.get("description_localizations") for c in commands]) + str(commands)
    assert "兆" not in everything
    zh_cn = [
        text
        for c in commands
        for o in [c, *c.get("options", []), *[ch for o in c.get("options", []) for ch in o.get("choices", [])]]
        for key in ("name_localizations", "description_localizations")
        for locale, text in (o.get(key) or {}).items()
        if locale == "zh-CN"
    ]
    assert not [t for t in zh_cn if any(hanzidentifier.identify(c) == hanzidentifier.TRADITIONAL for c in t)]
    assert checked > 15
    inflow = next(c for c in commands if c["name"] == "inflow")
    pool = next(o for o in inflow["options"] if o["name"] == "pool")
    assert pool["name_localizations"] == {"zh-TW": "資金池", "zh-CN": "资金池"}
    language = next(c for c in commands if c["name"] == "language")
    choices = next(o for o in language["options"] if o["name"] == "language")["choices"]
    assert [c["value"] for c in choices] == ["en", "zh-TW", "zh-CN", "auto"]
    zh_cn_choice = next(c for c in choices if c["value"] == "zh-CN")
    assert zh_cn_choice["name"] == "简体中文 (Simplified Chinese)"
    assert zh_cn_choice["name_localizations"]["zh-CN"] == "简体中文"


async def test_allocation_autocomplete_previews_in_yi(harness: Harness) -> None:
    token = await harness.fake.autocomplete("inflow", {"allocation": "2"}, "allocation", locale="zh-CN")
    choices = (await harness.fake.wait_reply(token)).body["data"]["choices"]
    assert choices[0] == {"name": "2% → 2000亿美元 (401(k))", "value": "2"}
