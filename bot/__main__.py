"""CLI: `python -m bot [run | serve | ask LINE | console | sync | check-config | health | backup PATH | copy-store]`.

With no subcommand: the Discord bot when DISCORD_TOKEN is set, otherwise the offline console.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.domain.facts import ConfigError, load_facts
from bot.domain.language import LANGS
from bot.infra.dburl import DatabaseURLError, parse_database_url, url_secrets
from bot.infra.health import backup, check_health
from bot.infra.logs import setup_logging
from bot.infra.settings import Settings

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser("ask", help="answer one command and exit (0 answer, 2 input error, 1 failure)")
    ask.add_argument("line", help='e.g. "/inflow 2%% pool:dc"')
    ask.add_argument("--lang", choices=LANGS, default=None, help="answer language (default: from $LANG)")
    ask.add_argument("--json", action="store_true", help="print the exact Discord message payload")
    ask.add_argument("--offline", action="store_true", help="no outside requests: config figures only")
    ask.add_argument("--chart-dir", type=Path, default=None, help="write /inflow's chart (PNG) into this folder")
    sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    serve = sub.add_parser("serve", help="HTTP interactions endpoint (needs DISCORD_PUBLIC_KEY, no token)")
    serve.add_argument("--host", default=None, help="address to listen on (default: BOT_HTTP_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: BOT_HTTP_PORT, 8080; 0 = any free)")
    sync = sub.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, default=None, help="also sync to this guild (instant)")
    sync.add_argument("--force", action="store_true", help="sync even if nothing changed")
    sub.add_parser("check-config", help="validate config/ and templates, then exit")
    health = sub.add_parser(
        "health",
        help="exit 0 if the store is usable and the gateway was seen recently, or in HTTP mode (a public key, no "
        "token) if the local serve process's /healthz answers 200 (Docker HEALTHCHECK)",
    )
    health.add_argument("--http", action="store_true", help="check the local serve process's /healthz")
    backup = sub.add_parser("backup", help="copy the SQLite store to PATH with SQLite's online backup")
    backup.add_argument("path", type=Path)
    copy = sub.add_parser("copy-store", help="copy preferences from the SQLite store (BOT_DB_PATH) to PostgreSQL")
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/db")
    console = sub.add_parser("console", help="the offline console, even with a token set")
    console.add_argument("--chart-dir", type=Path, default=None, help="write /inflow charts (PNG) into this folder")
    return parser


def _check_config(today: dt.date | None = None) -> int:
    from bot.answers.build import AnswerContext, answer, source_pages
    from bot.answers.model import limit_violations
    from bot.answers.render import Renderer
    from bot.answers.requests import FaqRequest, K401Request, OpinionsRequest, Request, SourcesRequest, Topic
    from bot.domain.facts import REVIEW_MAX_AGE_DAYS
    from bot.domain.inflow import MarketCap

    facts = load_facts()
    renderer = Renderer(facts)
    ctx = AnswerContext(facts, renderer, MarketCap.from_config(facts))
    problems: list[str] = []
    requests: list[tuple[Request, int]] = [(K401Request(t), 0) for t in Topic]
    requests += [(K401Request(Topic.TIMELINE), page) for page in range(1, 4)]
    requests += [(OpinionsRequest(), 0), *((SourcesRequest(), page) for page in range(len(source_pages(facts))))]
    requests += [(FaqRequest(), 0), *((FaqRequest(q.id), 0) for q in facts.faq.question)]
    for lang in LANGS:
        for request, page in requests:
            problems += [
                f"{lang} {request} p{page}: {p}" for p in limit_violations(answer(request, lang, ctx, page=page))
            ]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    stale = facts.stale(today or dt.date.today())
    if stale:  # a warning, not a failure: the values may still be right, but someone should look again
        print(f"warning: {len(stale)} fact(s) last reviewed more than {REVIEW_MAX_AGE_DAYS} days ago:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in stale), file=sys.stderr)
    faq_facts = sum(len(q.fact) for q in facts.faq.question)
    print(
        f"config OK: {len(facts.facts)} facts, {len(facts.opinions)} opinions, {len(facts.faq.question)} reader"
        f" questions ({faq_facts} facts), data version {facts.version}"
    )
    return 0


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.console import ask, system_lang
    from bot.infra.services import open_services

    async with open_services(settings, offline=args.offline) as services:
        return await ask(
            services.core,
            args.line,
            args.lang or system_lang(),
            as_json=args.json,
            out=sys.stdout,
            chart_dir=args.chart_dir,
        )


async def _console(settings: Settings, chart_dir: Path | None) -> int:
    from bot.console import interactive, system_lang
    from bot.infra.services import open_services

    async with open_services(settings) as services:
        return await interactive(services.core, system_lang(), chart_dir=chart_dir)


def _copy_store(settings: Settings, url: str) -> int:
    from bot.store.copy import CopyError, copy_store

    try:
        print(asyncio.run(copy_store(settings.db_path, url)))
    except CopyError as exc:
        print(f"copy-store: {exc}", file=sys.stderr)
        return 1
    return 0


ASK_OPTIONS = ("--lang", "--json", "--offline", "--chart-dir", "--help", "-h")


def _dash_lines_last(argv: list[str]) -> list[str]:
    """`ask "-0%"`: a line that starts with `-` (and is none of ask's options) is moved behind `--`, so argparse
    takes it for the line instead of an unknown option."""
    if "ask" not in argv or "--" in argv:
        return argv
    start = argv.index("ask") + 1
    for i in range(start, len(argv)):
        token = argv[i]
        if argv[i - 1] in ("--lang", "--chart-dir") and i > start:
            continue  # an option's value
        if token.startswith("-") and token != "-" and not any(o.startswith(token.split("=")[0]) for o in ASK_OPTIONS):
            return [*argv[:i], *argv[i + 1 :], "--", token]
        if not token.startswith("-"):
            return argv  # the line is already a plain positional
    return argv


def _secrets_from_environment(argv: Sequence[str]) -> list[str]:
    """What to scrub from a last-resort error line, known before (or without) valid settings."""
    found = [os.environ.get(name, "") for name in ("DISCORD_TOKEN", "BOT_MARKET_API_KEY")]
    found += url_secrets(os.environ.get("BOT_DATABASE_URL", "")) if os.environ.get("BOT_DATABASE_URL") else []
    found += [s for i, arg in enumerate(argv) if arg.startswith("--to") for s in url_secrets(_value_of(argv, i))]
    return [s for s in found if s]


def _value_of(argv: Sequence[str], i: int) -> str:
    if "=" in argv[i]:
        return argv[i].split("=", 1)[1]
    return argv[i + 1] if i + 1 < len(argv) else ""


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI with a last-resort handler: whatever escapes becomes one redacted line on stderr and exit 1 (the
    traceback only at LOG_LEVEL=DEBUG, through the logging filter that redacts it)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    secrets = _secrets_from_environment(arguments)
    try:
        return _main(arguments, secrets)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        print(f"internal error: {type(exc).__name__}: {_scrub(first_line, secrets)}", file=sys.stderr)
        return 1


def _main(argv: list[str], secrets: list[str]) -> int:
    args = _parser().parse_args(_dash_lines_last(argv))
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        print(_scrub(f"settings error: {where + ': ' if where else ''}{message}", secrets), file=sys.stderr)
        return 2
    secrets += settings.secrets()
    if args.command == "copy-store":
        # copy-store's URL comes on the command line: its password stays out of every log line too
        secrets += url_secrets(args.to)
        try:
            parse_database_url(args.to)
        except DatabaseURLError as exc:
            print(f"copy-store: --to {exc}", file=sys.stderr)
            return 2
    setup_logging(settings.log_level, settings.log_format, secrets)
    # Answers go to stdout; keep the console quiet unless asked.
    quiet = (None, "ask", "console", "health", "backup", "copy-store")
    if args.command in quiet and settings.log_level.upper() == "INFO":
        logging.getLogger().setLevel(logging.WARNING)
    try:
        if args.command == "health":
            from bot.http.probe import http_mode, probe

            healthy, reason = probe(settings) if args.http or http_mode(settings) else check_health(settings)
            print(reason)
            return 0 if healthy else 1
        if args.command == "copy-store":
            return _copy_store(settings, args.to)
        if args.command == "backup":
            if settings.database_url is not None:
                print("backup copies the SQLite store; with BOT_DATABASE_URL use pg_dump (README)", file=sys.stderr)
                return 2
            try:
                size = backup(settings, args.path)
            except FileNotFoundError as exc:
                print(str(exc), file=sys.stderr)
                return 1
            print(f"backed up {settings.db_path} to {args.path} ({size} bytes)")
            return 0
        if args.command == "check-config":
            return _check_config()
        if args.command == "ask":
            return asyncio.run(_ask(settings, args))
        if args.command == "serve":
            from bot.http.serve import run_serve

            return run_serve(settings, args)
        if args.command in ("run", "sync") or (args.command is None and settings.has_token):
            if settings.token_error:  # only the commands that need the token report a broken token file
                print(f"settings error: {settings.token_error}", file=sys.stderr)
                return 2
            from bot.gateway.runner import run_discord

            return run_discord(settings, args)
        return asyncio.run(_console(settings, getattr(args, "chart_dir", None)))
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `ask … | head`: the reader left. Point stdout at devnull so the interpreter's final flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _route_stray_tracebacks_through_logging() -> None:
    """An exception in a thread or an unraisable one (a failing __del__) would print its traceback straight to stderr:
    send it through logging instead, whose filter redacts secrets."""

    def in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit:
            exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
            log.error("uncaught exception in thread %s", getattr(args.thread, "name", "?"), exc_info=exc_info)

    def unraisable(args: sys.UnraisableHookArgs) -> None:
        exc_info = (args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)
        log.warning("unraisable exception (%s)", args.err_msg or "ignored", exc_info=exc_info)

    threading.excepthook = in_thread
    sys.unraisablehook = unraisable


if __name__ == "__main__":
    _route_stray_tracebacks_through_logging()
    sys.exit(main())
