from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.answers import AnswerContext, answer
from bot.components import MAX_CUSTOM_ID, decode, encode
from bot.discord_app.payload import message_payload
from bot.requests import Command, build_request, parse_request


def test_roundtrip_inflow_state() -> None:
    custom_id = encode({"command": "inflow", "allocation": "1 to 5%", "pool": "dc"}, "zh-TW", 0)
    assert custom_id == "k4|inflow|zh-TW|0|1 to 5%|dc"
    state = decode(custom_id)
    assert state is not None
    assert (state.command, state.lang, state.page, state.options) == (
        Command.INFLOW,
        "zh-TW",
        0,
        {"allocation": "1 to 5%", "pool": "dc"},
    )


def test_foreign_or_malformed_ids_are_ignored() -> None:
    for bad in ("", "k4", "k4|inflow|fr|0||", "k4|nope|en|0||", "k4|inflow|en|x||", "other|inflow|en|0||"):
        assert decode(bad) is None


@given(st.text(max_size=32), st.sampled_from(["401k", "dc", "retirement"]))
def test_ids_stay_within_discords_limit(text: str, pool: str) -> None:
    assert len(encode({"command": "inflow", "allocation": text, "pool": pool}, "en", 9)) <= MAX_CUSTOM_ID


def test_every_control_rerenders_from_its_id_alone(ctx: AnswerContext) -> None:
    """What a click would do after a restart: decode the id, rebuild the request, answer."""
    for line in (
        "/401k topic:risks",
        "/inflow 1-5% pool:retirement",
        "/opinions stance:supportive",
        "/sources",
    ):
        first = answer(parse_request(line, ctx.facts), "en", ctx)
        for row in message_payload(first)["components"]:
            for component in row["components"]:
                state = decode(component["custom_id"])
                assert state is not None
                options = dict(state.options)
                if component["type"] == 3:
                    options["topic"] = "scale"
                again = answer(build_request(state.command, options, ctx.facts), state.lang, ctx, page=state.page)
                assert again.title
                if component.get("label") == "中文":
                    assert again.lang == "zh-TW"
