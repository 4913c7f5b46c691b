from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.answers.build import AnswerContext, answer
from bot.answers.components import MAX_CUSTOM_ID, ComponentIdTooLong, control_custom_id, decode, encode
from bot.answers.requests import Command, InflowRequest, UserInputError, build_request, parse_request
from bot.discord_wire.message import message_payload
from bot.domain.inflow import Pool
from bot.domain.language import LANGS, Lang


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


@pytest.mark.parametrize(
    ("state", "options"),
    [
        ({"command": "401k", "topic": "risks"}, {"topic": "risks"}),
        ({"command": "inflow", "allocation": "0.5 – 2 %", "pool": "retirement"}, None),
        ({"command": "opinions", "stance": "critical", "analyst": "hanson", "page": "1"}, None),
        ({"command": "opinions", "stance": "", "analyst": "", "page": "2"}, {}),
        ({"command": "sources", "page": "3"}, {}),
        ({"command": "help"}, {}),
    ],
)
@pytest.mark.parametrize("lang", LANGS)
def test_every_commands_state_round_trips(state: dict[str, str], options: dict[str, str] | None, lang: Lang) -> None:
    state_options = {k: v for k, v in state.items() if k not in ("command", "page")}
    custom_id = encode(state, lang, 3)
    decoded = decode(custom_id)
    assert decoded is not None
    assert (decoded.command, decoded.lang, decoded.page) == (Command(state["command"]), lang, 3)
    assert decoded.options == (state_options if options is None else options)


def test_an_id_over_discords_limit_raises_instead_of_being_cut() -> None:
    head = "k4|inflow|en|0|"
    fits = "x" * (MAX_CUSTOM_ID - len(head) - len("|dc"))
    assert len(encode({"command": "inflow", "allocation": fits, "pool": "dc"}, "en", 0)) == MAX_CUSTOM_ID
    with pytest.raises(ComponentIdTooLong):
        encode({"command": "inflow", "allocation": fits + "x", "pool": "dc"}, "en", 0)
    with pytest.raises(ValueError, match="names no command"):
        encode({}, "en", 0)


# The old property test drew at most 32 characters, so the id could never pass 100 and the limit branch it claimed
# to cover was unreachable. Lengths 50-120 straddle the limit (it falls between 74 and 81 here).
@given(st.text(st.characters(exclude_characters="|"), min_size=50, max_size=120), st.sampled_from(list(Pool)))
def test_ids_round_trip_within_discords_limit_or_raise(text: str, pool: Pool) -> None:
    expected = f"k4|inflow|en|9|{text}|{pool.value}"
    state = {"command": "inflow", "allocation": text, "pool": pool.value}
    if len(expected) > MAX_CUSTOM_ID:
        with pytest.raises(ComponentIdTooLong):
            encode(state, "en", 9)
        return
    assert encode(state, "en", 9) == expected
    decoded = decode(expected)
    assert decoded is not None and decoded.options == {"allocation": text, "pool": pool.value}


def test_every_control_rerenders_from_its_id_alone(ctx: AnswerContext) -> None:
    """What a click would do after a restart: decode the id, rebuild the request, answer."""
    for line in (
        "/401k topic:risks",
        "/inflow 1-5% pool:retirement",
        "/opinions stance:supportive",
        "/sources",
        "/help",
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


# Mostly allocations that parse, with the padding people paste around them; some arbitrary text too.
_PADDING = st.text(" \t\u3000", max_size=50)
_TYPED = st.tuples(_PADDING, st.decimals(Decimal("0.0001"), Decimal(100), places=4).map(lambda d: f"{d}%"), _PADDING)


def _inflow(options: dict[str, str | None], ctx: AnswerContext) -> InflowRequest:
    request = build_request(Command.INFLOW, options, ctx.facts)
    assert isinstance(request, InflowRequest)
    return request


@given(typed=_TYPED.map("".join) | st.text(max_size=40), pool=st.sampled_from(list(Pool)), lang=st.sampled_from(LANGS))
def test_any_typed_allocation_gives_an_id_that_fits_and_re_renders_the_same_answer(
    typed: str, pool: Pool, lang: Lang, ctx: AnswerContext
) -> None:
    """Whatever surrounds the allocation (padding, full-width digits), the toggle's id fits and means the same."""
    try:
        request = _inflow({"allocation": typed, "pool": pool.value}, ctx)
    except UserInputError:
        return
    first = answer(request, lang, ctx)
    toggle = next(c for c in first.controls if c.action == "lang")
    state = decode(control_custom_id(first, toggle))
    assert state is not None
    again = _inflow(dict(state.options), ctx)
    assert (again.allocation, again.pool) == (request.allocation, request.pool)


def test_padded_allocations_stay_within_the_id_limit(ctx: AnswerContext) -> None:
    for typed in (
        " " * 60 + "2%" + " " * 60,
        "０．０００００００００００００００００００００００１％",
        "\u3000" * 50 + "１～５％" + "\t" * 50,
    ):
        request = _inflow({"allocation": typed, "pool": "retirement"}, ctx)
        first = answer(request, "zh-TW", ctx)
        custom_id = control_custom_id(first, first.controls[-1])
        assert len(custom_id) <= MAX_CUSTOM_ID
        state = decode(custom_id)
        assert state is not None
        assert _inflow(dict(state.options), ctx).allocation == request.allocation
