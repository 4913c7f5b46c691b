"""/faq (issue 20): reader questions answered from config/faq.toml, in three languages, on every path."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.answers import formatting
from bot.answers.build import AnswerContext, answer, source_pages
from bot.answers.components import MAX_CUSTOM_ID, control_custom_id, decode
from bot.answers.core import Core
from bot.answers.model import Answer, limit_violations
from bot.answers.render import Renderer
from bot.answers.requests import Command, FaqRequest, UserInputError, parse_request
from bot.domain.facts import ConfigError, Facts, load_facts
from bot.domain.language import LANGS, Lang
from bot.domain.paths import config_dir
from bot.infra.cooldown import MemoryCooldown
from bot.interactions import Interaction, InteractionHandler, Kind, ReplyKind
from bot.interactions.autocomplete import MAX_CHOICES, question_choices
from bot.store import SQLiteStore
from tests.answer_matrix import shown_text
from tests.helpers import run_cli

IDS = (
    "buy-today",
    "rule-status",
    "deadline",
    "default-funds",
    "cost",
    "roth",
    "which-plans",
    "sec",
    "alternatives-now",
    "reversal",
    "opposition",
    "loans-hardship",
    "six-categories",
    "since-order",
)
REVIEWED = {"en": "Reviewed Dec 6, 2026", "zh-TW": "查核日期：2026年12月6日", "zh-CN": "核查日期：2026年12月6日"}
NOT_ADVICE = {
    "en": "General information, not advice about your own account",
    "zh-TW": "一般資訊，不是針對你個人帳戶的建議",
    "zh-CN": "一般信息，不是针对你个人账户的建议",
}


def faq(ctx: AnswerContext, question: str | None, lang: Lang) -> Answer:
    return answer(FaqRequest(question), lang, ctx)


def test_the_stable_ids_in_order(facts: Facts) -> None:
    assert tuple(q.id for q in facts.faq.question) == IDS


# ---------------------------------------------------------------- one answer


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("question_id", IDS)
def test_plain_answer_then_dated_facts_with_sources_then_reviewed(
    question_id: str, lang: Lang, ctx: AnswerContext
) -> None:
    question = ctx.facts.faq.get(question_id)
    result = faq(ctx, question_id, lang)
    assert result.title == question.question.get(lang)
    assert result.description == question.answer.get(lang)  # the plain answer comes first
    sources = ctx.facts.faq.sources
    facts_shown = sorted(question.fact, key=lambda f: f.date)
    for fact, field in zip(facts_shown, result.fields, strict=False):
        assert field.name == (fact.when.get(lang) if fact.when else formatting.date(fact.date, lang))
        assert fact.text.get(lang) in field.value
        assert sources[fact.source].title.get(lang) in field.value  # the source, linked where it has a URL
        if sources[fact.source].url:
            assert f"]({sources[fact.source].url})" in field.value
    assert result.footer.startswith(REVIEWED[lang])
    assert shown_text(result).count(NOT_ADVICE[lang]) == 1  # said once, briefly
    assert limit_violations(result) == []


@pytest.mark.parametrize(
    ("lang", "attributed"),
    [
        ("en", "Reported by PLANSPONSOR: its headline said the submission to the budget office “beat the 180-day"),
        ("zh-TW", "據 PLANSPONSOR 報導：其標題稱送交預算管理局「趕在180天期限之前」"),
        ("zh-CN", "据 PLANSPONSOR 报道：其标题称送交预算管理局“赶在180天期限之前”"),
    ],
)
def test_a_single_source_fact_is_only_shown_attributed(lang: Lang, attributed: str, ctx: AnswerContext) -> None:
    assert attributed in shown_text(faq(ctx, "deadline", lang))
    for question in ctx.facts.faq.question:
        text = shown_text(faq(ctx, question.id, "en"))
        for fact in question.fact:
            if fact.tag == "S1":
                assert f"Reported by {fact.reported_by.en if fact.reported_by else '?'}: {fact.text.en}" in text


@pytest.mark.parametrize(
    ("lang", "forecast"),
    [
        ("en", "A forecast, not an outcome: In January 2026 Groom Law Group expected the Department"),
        ("zh-TW", "這是預測，不是結果：Groom Law Group 在2026年1月預期勞工部「將在初秋前完成最終規則」"),
    ],
)
def test_a_forecast_stays_a_forecast(lang: Lang, forecast: str, ctx: AnswerContext) -> None:
    assert forecast in shown_text(faq(ctx, "rule-status", lang))


@pytest.mark.parametrize(
    ("lang", "unknown"),
    [
        (
            "en",
            "• Unknown: Whether a final rule has been issued, sent for review or withdrawn: as of mid-2026 it was still"
            " a proposal; later status not confirmed. (latest source found: Jul 9, 2026)",
        ),
        (
            "zh-TW",
            "• 不明：最終規則是否已經發布、送審或撤回：截至2026年年中仍是擬議規則；之後的狀態未經確認。"
            "（找到的最新來源：2026年7月9日）",
        ),
        (
            "zh-CN",
            "• 不明：最终规则是否已经发布、送审或撤回：截至2026年年中仍是拟议规则；之后的状态未经确认。"
            "（找到的最新来源：2026年7月9日）",
        ),
    ],
)
def test_what_could_not_be_verified_is_said_as_unknown_with_the_last_source_date(
    lang: Lang, unknown: str, ctx: AnswerContext
) -> None:
    result = faq(ctx, "rule-status", lang)
    assert unknown in result.fields[-2].value  # then the link to the timeline
    assert "final rule" not in result.description.replace("no final rule", "").replace("a final rule", "") or (
        lang != "en"
    )


def test_the_rule_is_never_called_final(ctx: AnswerContext) -> None:
    for question in ctx.facts.faq.question:
        text = shown_text(faq(ctx, question.id, "en")).lower()
        for claim in ("rule was finalized", "final rule was issued", "the final rule says", "final rule took effect"):
            assert claim not in text, question.id


@pytest.mark.parametrize("lang", LANGS)
def test_timeline_link_where_it_fits(lang: Lang, ctx: AnswerContext) -> None:
    hint = {"en": "`/401k topic:timeline`", "zh-TW": "`/401k 主題:時間軸`", "zh-CN": "`/401k 主题:时间线`"}[lang]
    for question in ctx.facts.faq.question:
        assert (hint in shown_text(faq(ctx, question.id, lang))) is question.timeline, question.id
    assert sum(q.timeline for q in ctx.facts.faq.question) >= 4


def test_every_language_states_the_same_facts(ctx: AnswerContext) -> None:
    for question_id in (None, *IDS):
        used = {lang: set(faq(ctx, question_id, lang).facts_used) for lang in LANGS}
        assert used["en"] == used["zh-TW"] == used["zh-CN"], question_id
        if question_id:
            question = ctx.facts.faq.get(question_id)
            assert {f"faq:{question_id}:{f.id}" for f in question.fact} <= used["en"]


def test_zh_cn_is_the_zh_tw_answer_converted(ctx: AnswerContext) -> None:
    for question_id in IDS:
        tw, cn = faq(ctx, question_id, "zh-TW"), faq(ctx, question_id, "zh-CN")
        assert cn.title == ctx.facts.simplify(tw.title)
        assert cn.description == ctx.facts.simplify(tw.description)


# ---------------------------------------------------------------- the list, the buttons, the menu


@pytest.mark.parametrize("lang", LANGS)
def test_without_a_question_the_list_and_a_menu(lang: Lang, ctx: AnswerContext) -> None:
    result = faq(ctx, None, lang)
    (menu,) = [c for c in result.controls if c.kind == "select"]
    assert [value for value, _ in menu.options] == list(IDS)
    assert [label for _, label in menu.options] == [q.short.get(lang) for q in ctx.facts.faq.question]
    assert all(q.short.get(lang) in result.description for q in ctx.facts.faq.question)
    assert decode(control_custom_id(result, menu)) is not None
    assert control_custom_id(result, menu).startswith("k4s|faq|")


@pytest.mark.parametrize("lang", LANGS)
def test_related_question_buttons_are_stateless_ids(lang: Lang, ctx: AnswerContext) -> None:
    for question in ctx.facts.faq.question:
        result = faq(ctx, question.id, lang)
        related = [c for c in result.controls if c.action == "faq"]
        assert [c.value for c in related] == list(question.related) and 1 <= len(related) <= 3
        assert len([c for c in result.controls if c.kind == "button"]) <= 5  # one row
        for control in related:
            custom_id = control_custom_id(result, control)
            state = decode(custom_id)
            assert len(custom_id) <= MAX_CUSTOM_ID and len(control.label) <= 80
            assert state is not None and state.command is Command.FAQ and state.lang == lang
            assert state.options == {"question": control.value}
            assert control.label == ctx.facts.faq.get(control.value).short.get(lang)


@pytest.fixture
async def handler(facts: Facts, renderer: Renderer, tmp_path: Path) -> Any:
    async with SQLiteStore(tmp_path / "bot.sqlite3") as store:
        yield InteractionHandler(Core(facts, renderer, store=store), store, MemoryCooldown(1000, 30.0))


async def test_a_related_button_and_the_menu_show_the_answer_in_place(handler: InteractionHandler) -> None:
    common: dict[str, Any] = {"locale": "zh-TW", "user_id": 5, "guild_id": 9}
    listed = await handler.handle(Interaction(Kind.COMMAND, name="faq", options={}, **common))
    assert listed.reply.answer is not None
    ids = tuple(control_custom_id(listed.reply.answer, c) for c in listed.reply.answer.controls)
    menu_id = next(i for i in ids if i.startswith("k4s|"))
    chosen = await handler.handle(
        Interaction(Kind.COMPONENT, custom_id=menu_id, values=("roth",), message_custom_ids=ids, **common)
    )
    assert chosen.reply.kind is ReplyKind.UPDATE and chosen.reply.answer is not None
    assert chosen.reply.answer.title == "羅斯 401(k) 和傳統 401(k)：提領時要繳稅嗎？"
    roth = chosen.reply.answer
    roth_ids = tuple(control_custom_id(roth, c) for c in roth.controls)
    button = next(control_custom_id(roth, c) for c in roth.controls if c.value == "loans-hardship")
    clicked = await handler.handle(
        Interaction(Kind.COMPONENT, custom_id=button, values=(), message_custom_ids=roth_ids, **common)
    )
    assert clicked.reply.kind is ReplyKind.UPDATE and clicked.reply.answer is not None
    assert clicked.reply.answer.title.startswith("我能向 401(k) 借款")
    # A faq button forged onto another kind of answer is refused.
    forged = await handler.handle(
        Interaction(Kind.COMPONENT, custom_id=button, values=(), message_custom_ids=("k4|sources|en|0||",), **common)
    )
    assert forged.reply.answer is not None and forged.reply.answer.is_error


# ---------------------------------------------------------------- autocomplete and typed questions

# A word a reader might type for each question, in English and Traditional Chinese; the Simplified word is the
# Traditional one converted, as a mainland reader types it.
WORDS = {
    "buy-today": ("bitcoin", "比特幣"),
    "rule-status": ("final", "定案"),
    "deadline": ("deadline", "期限"),
    "default-funds": ("target-date", "目標日期"),
    "cost": ("fees", "手續費"),
    "roth": ("Roth", "羅斯"),
    "which-plans": ("TSP", "節儉儲蓄計畫"),
    "sec": ("accredited", "證交會"),
    "alternatives-now": ("how much", "另類資產"),
    "reversal": ("revoke", "推翻"),
    "opposition": ("oppose", "反對"),
    "loans-hardship": ("loan", "失業"),
    "six-categories": ("categories", "六類"),
    "since-order": ("happened", "最新"),
}


@pytest.mark.parametrize("question_id", IDS)
def test_autocomplete_finds_each_question_from_a_word_in_each_language(question_id: str, facts: Facts) -> None:
    english, traditional = WORDS[question_id]
    typed_words: tuple[tuple[str, Lang], ...] = (
        (english, "en"),
        (traditional, "zh-TW"),
        (facts.simplify(traditional), "zh-CN"),
    )
    for typed, lang in typed_words:
        choices = question_choices(facts, typed, lang)
        assert choices[0] == (facts.faq.get(question_id).short.get(lang), question_id), typed  # best match first


@pytest.mark.parametrize(
    ("typed", "best"),
    [("IRA", "which-plans"), ("羅斯", "roth"), ("罗斯", "roth"), ("TSP", "which-plans"), ("手續費", "cost")],
)
def test_autocomplete_examples_from_the_issue(typed: str, best: str, facts: Facts) -> None:
    choices = question_choices(facts, typed, "en")
    assert choices[0][1] == best and len(choices) <= MAX_CHOICES


def test_autocomplete_without_text_lists_every_question_and_keeps_discords_limits(facts: Facts) -> None:
    assert [value for _, value in question_choices(facts, "", "zh-TW")] == list(IDS)
    assert question_choices(facts, "天氣預報", "en") == ()
    for name, value in question_choices(facts, "a" * 500, "en") + question_choices(facts, "", "en"):
        assert 1 <= len(name) <= 100 and len(value) <= 100


async def test_autocomplete_through_the_handler(handler: InteractionHandler) -> None:
    outcome = await handler.handle(
        Interaction(Kind.AUTOCOMPLETE, name="faq", focused="question", options={"question": "罗斯"}, locale="zh-CN")
    )
    assert outcome.reply.kind is ReplyKind.AUTOCOMPLETE
    assert outcome.reply.choices[0] == ("罗斯或传统 401(k)：提取要缴税吗？", "roth")


@pytest.mark.parametrize(
    ("line", "question_id"),
    [
        ("/faq question:rule-status", "rule-status"),
        ("/faq rule-status", "rule-status"),
        ("/faq 問題:羅斯或傳統 401(k)：提領要繳稅嗎？", "roth"),  # the Chinese option name and label
        ("/faq 问题:罗斯或传统 401(k)：提取要缴税吗？", "roth"),
        ("/faq question:Can I buy bitcoin in my 401(k) today?", "buy-today"),
        ("/faq IRA", "which-plans"),
        ("/faq 手續費", "cost"),
    ],
)
def test_console_lines_name_a_question_any_way(line: str, question_id: str, facts: Facts) -> None:
    assert parse_request(line, facts) == FaqRequest(question_id)


def test_an_unknown_question_is_a_localised_input_error(ctx: AnswerContext) -> None:
    with pytest.raises(UserInputError) as info:
        parse_request("/faq question:天氣預報", ctx.facts)
    assert info.value.code == "unknown_question"


def test_ask_faq_in_simplified_chinese(tmp_path: Path) -> None:
    result = run_cli("ask", "/faq question:rule-status", "--lang", "zh-CN", "--offline", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("━━ 劳工部的规则已经定案了吗？计划可以依赖它吗？ ━━\n")
    assert "核查日期：2026年12月6日" in result.stdout
    bad = run_cli("ask", "/faq question:nothing-like-it", "--lang", "en", "--offline", cwd=tmp_path)
    assert bad.returncode == 2 and "No question matches “nothing-like-it”" in bad.stdout


# ---------------------------------------------------------------- /sources and the loader


def test_sources_lists_every_reader_question_fact_with_its_review_date(ctx: AnswerContext) -> None:
    pages = source_pages(ctx.facts)
    faq_pages = [p for p, (kind, _) in enumerate(pages) if kind == "faq"]
    text = "\n".join(shown_text(answer(parse_request("/sources", ctx.facts), "en", ctx, page=p)) for p in faq_pages)
    for question in ctx.facts.faq.question:
        assert question.short.en in text
        for fact in question.fact:
            date = fact.when.en if fact.when else formatting.date(fact.date, "en")
            publisher = ctx.facts.faq.sources[fact.source].publisher.en
            assert f"• {date}{' (forecast)' if fact.forecast else ''} — {publisher} ·" in text
    assert text.count("· reviewed Dec 6, 2026") == sum(len(q.fact) for q in ctx.facts.faq.question)
    assert "one source, shown attributed" in text and "primary source" in text


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(config_dir(), target)
    return target


def _edit_faq(config: Path, old: str, new: str) -> str:
    path = config / "faq.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_facts(config, today=dt.date(2026, 12, 31))
    return str(info.value)


def test_loader_refuses_an_unattributed_single_source_fact(config_copy: Path) -> None:
    message = _edit_faq(config_copy, 'reported_by = "PLANSPONSOR"\n', "")
    assert "faq.toml" in message and "reported_by" in message


def test_loader_refuses_an_unknown_related_question_and_source(config_copy: Path) -> None:
    assert "unknown question 'nope'" in _edit_faq(config_copy, 'related = ["which-plans",', 'related = ["nope",')
    copy = config_copy.parent / "again"
    shutil.copytree(config_dir(), copy)
    assert "unknown source 'nowhere'" in _edit_faq(copy, 'source = "gao_crypto_2024"', 'source = "nowhere"')


def test_loader_refuses_a_review_date_in_the_future(config_copy: Path) -> None:
    assert "in the future" in _edit_faq(config_copy, "reviewed = 2026-12-06\ntext", "reviewed = 2027-12-06\ntext")


def test_every_fact_carries_a_review_date_and_stale_ones_are_listed(facts: Facts) -> None:
    assert all(f.reviewed for f in facts.facts)
    assert facts.stale(dt.date(2026, 12, 31)) == []
    stale = facts.stale(dt.date(2027, 5, 30))  # 181 days after 2026-11-30: the figures from facts-verified.md
    assert "assets_401k_2025q1 (reviewed 2026-11-30)" in stale
    assert not any("assets_401k_2025q3" in line for line in stale)  # reviewed 2026-12-06
    assert any(line.startswith("faq rule-status: ") for line in facts.stale(dt.date(2027, 6, 5)))


def test_check_config_warns_about_stale_reviews_and_still_passes(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import _check_config

    assert _check_config(today=dt.date(2027, 6, 30)) == 0
    out, err = capsys.readouterr()
    assert "config OK: 50 facts, 6 opinions, 14 reader questions" in out
    assert "warning: 114 fact(s) last reviewed more than 180 days ago:" in err
    assert "  assets_401k_2025q1 (reviewed 2026-11-30)" in err
    assert _check_config(today=dt.date(2026, 12, 6)) == 0
    assert "warning" not in capsys.readouterr().err
