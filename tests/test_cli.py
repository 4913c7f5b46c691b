"""The CLI: happy paths in-process (main() with captured output), a few real subprocesses as smoke tests, and the
guarantee that no test can pick up a real token from the checkout's .env."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.answers.core import Core
from bot.console import interactive
from bot.infra.settings import Settings
from tests.fakes import point_discord_py_at
from tests.helpers import REPO, run_cli

FAKE_TOKEN = "MTMwMDAwMDAwMDAwMDAwMDAwMQ.GfakeX.token-from-a-dotenv-in-the-checkout-xx"
# A subprocess that sends discord.py's HTTP traffic to the given URL, then runs the CLI with the remaining args.
LAUNCH = (
    "import sys, discord.http; discord.http.Route.BASE = sys.argv[1]; "
    "from bot.__main__ import main; sys.exit(main(sys.argv[2:]))"
)


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["ask", *args])
    return status, capsys.readouterr().out


# ---------------------------------------------------------------- answers, in-process


def test_ask_states_the_401k_figure_and_date(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = ask(capsys, "/inflow 1%", "--lang", "en")
    assert status == 0
    assert "1% × $10 trillion = $100 billion (401(k) plan assets, as of Sep 30, 2025)" in out


def test_discord_style_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert "**$962 billion** of new buying" in ask(capsys, "/inflow allocation:2% pool:retirement", "--lang", "en")[1]
    out = ask(capsys, "/opinions stance:cautious", "--lang", "en")[1]
    assert "Ted Rossman" in out and "Christopher Bailey" in out
    assert "Matt Hougan" not in out


def test_user_input_error_exits_2_with_a_localised_message(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = ask(capsys, "/inflow -5%", "--lang", "zh-TW")
    assert status == 2
    assert "是負數；配置比例必須大於0%" in out


def test_json_prints_the_exact_discord_payload(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = ask(capsys, "/inflow 2% pool:dc", "--lang", "en", "--json")
    assert status == 0
    payload = json.loads(out)
    assert set(payload) == {"tts", "content", "embeds", "components", "allowed_mentions", "attachments"}
    assert payload["attachments"] == [{"id": 0, "filename": "inflow.png"}]
    assert payload["embeds"][0]["image"] == {"url": "attachment://inflow.png"}
    assert payload["allowed_mentions"] == {"parse": []}
    embed = payload["embeds"][0]
    assert embed["title"] == "If 2% of all DC plan assets went into crypto"
    assert embed["description"].startswith("**$278 billion** of new buying")
    assert embed["type"] == "rich"
    toggles = payload["components"][-1]["components"]
    assert [t["label"] for t in toggles] == ["繁體中文", "简体中文"]
    assert [t["custom_id"] for t in toggles] == ["k4|inflow|zh-TW|0|2%|dc", "k4|inflow|zh-CN|0|2%|dc"]


@pytest.mark.parametrize("lang", ["en", "zh-TW", "zh-CN"])
def test_json_help_has_a_working_language_button(lang: str, capsys: pytest.CaptureFixture[str]) -> None:
    # It crashed: /help's answer carried no state for its button's custom_id.
    status, out = ask(capsys, "/help", "--lang", lang, "--json")
    assert status == 0
    buttons = json.loads(out)["components"][0]["components"]
    others = ["zh-TW", "zh-CN"] if lang == "en" else ["en"]
    assert [b["custom_id"] for b in buttons] == [f"k4|help|{other}|0||" for other in others]


def test_json_error_payload_is_ephemeral(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = ask(capsys, "/inflow @everyone", "--json")
    assert status == 2
    payload = json.loads(out)
    assert payload["flags"] == 64
    assert payload["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in json.dumps(payload, ensure_ascii=False)


def test_lang_defaults_from_the_system_locale(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    assert ask(capsys, "/401k")[1].startswith("━━ 2025年8月7日的行政命令可能為 401(k) 與加密貨幣帶來哪些改變")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert ask(capsys, "/401k")[1].startswith("━━ What the Aug 7, 2025 executive order could change")


def test_console_without_token_answers_until_eof(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setattr(sys, "stdin", io.StringIO("/inflow 2%\n/language zh-TW\n/inflow 1% pool:retirement\n/bogus\n"))
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "**$200 billion** of new buying" in out
    assert "4,810億美元" in out
    assert "沒有「/bogus」這個指令" in out


def test_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith("config OK: 50 facts, 6 opinions, 14 reader questions")


def test_internal_failure_exits_1_with_an_error_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("bot.answers.build.estimate", explode)
    assert main(["ask", "/inflow 2%", "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "Sorry — this answer failed on our side. Error id `" in out


def test_broken_config_exits_1_with_one_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "facts.toml").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr("bot.domain.facts.config_dir", lambda: tmp_path)
    assert main(["check-config"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("configuration error:\n")
    assert "Traceback" not in err


async def test_interactive_console_in_process(core: Core) -> None:
    out = io.StringIO()
    assert await interactive(core, "en", stdin=io.StringIO("/opinions analyst:kim\n\nquit\n/401k\n"), out=out) == 0
    text = out.getvalue()
    assert "Ji Hun Kim on the 401(k) order" in text
    assert "What a 401(k) is" not in text  # stopped at quit


def test_chart_dir_writes_the_png_next_to_the_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = ask(capsys, "/inflow 1-5% pool:dc", "--lang", "zh-TW", "--chart-dir", str(tmp_path / "charts"))
    assert status == 0
    path = tmp_path / "charts" / "zh-TW-inflow.png"
    assert out.rstrip().endswith(f"chart: {path}")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# ---------------------------------------------------------------- real processes (smoke tests)


def test_subprocess_ask_in_chinese_prints_4810_yi(tmp_path: Path) -> None:
    # From an unrelated working directory: package data must not depend on the cwd.
    result = run_cli("ask", "/inflow 1% pool:retirement", "--lang", "zh-TW", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4,810億美元" in result.stdout
    assert result.stdout.startswith("━━ 如果全美退休資產總額的1%投入加密貨幣 ━━\n")


def test_subprocess_console_reads_stdin_until_eof(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path, stdin="/inflow 2%\n/bogus\n", LANG="en_US.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "**$200 billion** of new buying" in result.stdout
    assert "Unknown command “/bogus”. Try `/help`." in result.stdout


# ---------------------------------------------------------------- no test can use a real token


class _Listener(ThreadingHTTPServer):
    """Stands where Discord's API would be: counts every request and refuses it (401), so a leaked token fails fast."""

    requests: list[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v10"


class _Refuse(BaseHTTPRequestHandler):
    server: _Listener

    def _refuse(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        body = b'{"message": "401: Unauthorized", "code": 0}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def discord_stand_in() -> Iterator[_Listener]:
    server = _Listener(("127.0.0.1", 0), _Refuse)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def dotenv_in_checkout() -> Iterator[Path]:
    """A token-bearing .env in the checkout, as an admin who followed the README has one; always removed."""
    path = REPO / ".env"
    if path.exists():
        pytest.skip(f"{path} exists; this test never overwrites a real .env")
    path.write_text(f"DISCORD_TOKEN={FAKE_TOKEN}\n", encoding="utf-8")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def test_tests_run_outside_the_checkout_and_settings_ignore_dotenv(dotenv_in_checkout: Path) -> None:
    assert Path.cwd().resolve() != REPO and not Path(".env").exists()  # .env is only looked up in the cwd
    assert not Settings().has_token


def test_a_dotenv_token_in_the_checkout_never_starts_the_bot_in_process(
    dotenv_in_checkout: Path,
    discord_stand_in: _Listener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_discord_py_at(monkeypatch, discord_stand_in.url)  # where a leaked token would go
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    # Each guard alone must hold. 1: the working directory (Settings reading .env as in production).
    with monkeypatch.context() as guard:
        guard.setitem(Settings.model_config, "env_file", ".env")
        assert main([]) == 0  # the offline console (EOF at once), not the bot
        assert main(["run"]) == 2
    # 2: Settings ignoring .env, even with the checkout as the working directory.
    with monkeypatch.context() as guard:
        guard.chdir(REPO)
        assert main([]) == 0
        assert main(["run"]) == 2
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err
    assert discord_stand_in.requests == []


def test_a_dotenv_token_in_the_checkout_never_reaches_a_cli_subprocess(
    dotenv_in_checkout: Path, discord_stand_in: _Listener, tmp_path: Path
) -> None:
    for args, status in (([], 0), (["run"], 2), (["sync"], 2), (["ask", "/401k"], 0)):
        result = run_cli(*args, cwd=tmp_path, launcher=("-c", LAUNCH, discord_stand_in.url))
        assert result.returncode == status, (args, result.stderr)
        assert FAKE_TOKEN not in result.stdout + result.stderr
    assert discord_stand_in.requests == []


# ---------------------------------------------------------------- the core never loads Discord

CORE_PROBE = """
import sys
from bot.__main__ import main
import bot.answers.core, bot.console, bot.store, bot.answers.build, bot.answers.render
import bot.infra.health, bot.infra.services, bot.infra.settings, bot.infra.logs
import bot.answers.components, bot.infra.market, bot.answers.chart
assert "discord" not in sys.modules, "importing the core loaded discord"
for argv in (["ask", "/401k"], ["ask", "/inflow 2%", "--offline"], ["health"], ["check-config"]):
    main(argv)
    assert "discord" not in sys.modules, f"{argv} loaded discord"
import bot.discord_wire.message, bot.http.serve, bot.http.server, bot.http.webhooks, bot.http.wire
main(["ask", "/401k", "--json"])  # Discord's exact JSON, built without discord.py
assert "discord" not in sys.modules, "--json or the HTTP transport loaded discord"
import bot.gateway.client
assert "discord" in sys.modules  # the probe itself works: the gateway does need discord.py
print("core ok")
"""


def test_the_core_and_the_cli_never_import_discord(tmp_path: Path) -> None:
    result = run_cli(cwd=tmp_path, launcher=("-c", CORE_PROBE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("core ok")


# Every module under bot/ except the Discord transports; modules added later (a PostgreSQL store, the interaction
# handler) are covered without editing a list. Packages are entered only after their own check.
MODULES_PROBE = """
import importlib, pkgutil, sys
import bot
TRANSPORTS = ("bot.gateway", "bot.__main__")  # the only modules that may load discord.py
def walk(path, prefix):
    for info in pkgutil.iter_modules(path, prefix):
        if info.name.startswith(TRANSPORTS):
            continue
        module = importlib.import_module(info.name)
        assert "discord" not in sys.modules, f"{info.name} loads discord"
        if info.ispkg:
            walk(module.__path__, info.name + ".")
walk(bot.__path__, "bot.")
print("modules ok")
"""


def test_every_core_module_imports_without_discord(tmp_path: Path) -> None:
    # Modules added later (a PostgreSQL store, the interaction handler) are covered without editing this list.
    result = run_cli(cwd=tmp_path, launcher=("-c", MODULES_PROBE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "modules ok"


def test_a_reader_that_leaves_early_is_no_traceback(tmp_path: Path) -> None:
    """`python -m bot ask … | head`: the pipe's reader is gone before the answer is written."""
    import subprocess

    from tests.helpers import scrubbed_env

    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "/sources", "--offline"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=scrubbed_env(BOT_DB_PATH=str(tmp_path / "bot.sqlite3")),
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.returncode == 0


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "This console session only: answers will be in **繁體中文 (Traditional Chinese)**"),
        ("zh-TW", "僅限這次主控台工作階段：之後會用 **繁體中文** 回覆（Discord 以外不會儲存）。"),
        ("zh-CN", "仅限本次控制台会话：之后会用 **繁体中文** 回复（Discord 以外不会保存）。"),
    ],
)
def test_language_outside_discord_never_claims_it_was_saved(
    lang: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "/language zh-TW", "--lang", lang, "--offline"]) == 0
    out = capsys.readouterr().out
    assert said in out
    assert "Saved" not in out and "已儲存" not in out and "已保存" not in out


# ---------------------------------------------------------------- issue 18: URLs, last-resort errors, dash lines

GENERATED_PASSWORD = "q7Rk2mZ9Xw/Lp3Vb8Nc+Ht5Ys="  # a generated password: `/`, `+`, `=` as password tools make them
BAD_URLS = {
    "raw slash in the password": (f"postgresql://k401:{GENERATED_PASSWORD}@127.0.0.1:5432/k401", "127.0.0.1:5432"),
    "raw hash in the password": ("postgresql://k401:Xw9#Lp3Vb8Nc2@db.internal:5432/k401", "db.internal:5432"),
    "raw question mark": ("postgresql://k401:Xw9?Lp3Vb8Nc2@db.internal/k401", "db.internal"),
    "unclosed bracket": ("postgresql://k401:Sup3rSecretPw@[::1/db", "[::1"),
    "port 99999": ("postgresql://k401:Sup3rSecretPw@127.0.0.1:99999/db", "127.0.0.1:99999"),
    "port notaport": ("postgresql://k401:Sup3rSecretPw@127.0.0.1:notaport/db", "127.0.0.1:notaport"),
    "multi-host with a bad port": ("postgresql://k401:Sup3rSecretPw@h1:5432,h2:0/db", "h1:5432,h2:0"),
}


def _password_pieces(url: str) -> list[str]:
    password = url.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1]
    return [password, *(p for p in password.replace("#", "/").replace("?", "/").split("/") if len(p) >= 4)]


@pytest.mark.parametrize("case", list(BAD_URLS))
@pytest.mark.parametrize("command", [("ask", "/help", "--offline"), ("check-config",), ("health",)])
def test_a_malformed_database_url_is_one_line_naming_the_host_and_exit_2(
    case: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    """Before: exit 1 and a traceback quoting a piece of the password (`Port could not be cast to integer value as
    'q7Rk2mZ9Xw'`), or `Invalid IPv6 URL` from every subcommand, check-config too."""
    url, host = BAD_URLS[case]
    result = run_cli(*command, cwd=tmp_path, BOT_DATABASE_URL=url)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("settings error: BOT_DATABASE_URL: ") and host in lines[0], lines[0]
    for piece in _password_pieces(url):
        assert piece not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("run",), ("sync",), ("backup", "x.db"), ("console",)])
def test_every_subcommand_refuses_a_malformed_url_the_same_way(command: tuple[str, ...], tmp_path: Path) -> None:
    url, host = BAD_URLS["raw slash in the password"]
    result = run_cli(*command, cwd=tmp_path, BOT_DATABASE_URL=url, DISCORD_PUBLIC_KEY="0" * 64, DISCORD_TOKEN="x" * 60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and host in result.stderr and "percent-encode" in result.stderr
    assert not any(piece in result.stderr for piece in _password_pieces(url))


def test_copy_store_refuses_a_malformed_target_url_without_the_password(tmp_path: Path) -> None:
    url, host = BAD_URLS["raw slash in the password"]
    result = run_cli("copy-store", "--to", url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("copy-store: --to ") and host in result.stderr
    assert result.stderr.count("\n") == 1
    assert not any(piece in result.stderr for piece in _password_pieces(url))


def test_the_secrets_list_covers_every_form_of_an_odd_password() -> None:
    """Before: `urlsplit(url).password` was None for a password with `/`, so only the whole URL was redacted."""
    from bot.infra.dburl import url_secrets

    secrets = url_secrets(f"postgresql://k401:{GENERATED_PASSWORD}@127.0.0.1:5432/k401")
    assert GENERATED_PASSWORD in secrets and "q7Rk2mZ9Xw" in secrets and "Lp3Vb8Nc+Ht5Ys=" in secrets
    encoded = url_secrets("postgresql://k401:q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D@db:5432/k401")
    assert GENERATED_PASSWORD in encoded and "q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D" in encoded
    assert "Sup3rSecretPw" in url_secrets("postgresql://db:5432/k401?sslmode=require&password=Sup3rSecretPw")


def test_a_percent_encoded_password_and_several_hosts_reach_the_real_server(tmp_path: Path, pg_url: str) -> None:
    """The README's way of writing an odd password works end to end; a multi-host URL tries each host in turn (the
    first here refuses connections). The server trusts local connections, so the password is not checked, only
    carried; it appears nowhere. A database of the test's own: the shared one may carry another version's schema."""
    from bot.infra.dburl import parse_database_url

    target = parse_database_url(pg_url)
    (host, port), user = target.hosts[0], target.user or "postgres"
    encoded = "q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D"
    url = f"postgresql://{user}:{encoded}@127.0.0.1:1,{host}:{port}/{target.database}"
    result = run_cli("ask", "/inflow 2%", "--lang", "en", "--offline", cwd=tmp_path, BOT_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "$200 billion" in result.stdout
    health = run_cli("health", cwd=tmp_path, BOT_DATABASE_URL=url)
    for text in (result.stderr, health.stdout, health.stderr):
        assert encoded not in text and GENERATED_PASSWORD not in text and "q7Rk2mZ9Xw" not in text
    assert f"127.0.0.1:1,{host}:{port}" in health.stdout + health.stderr


LAUNCH_FAILING = (
    "import sys, bot.infra.health as h\n"
    "def boom(*a, **k):\n"
    "    import os; raise RuntimeError('connect to ' + os.environ['BOT_DATABASE_URL'] + ' failed')\n"
    "h.check_health = boom\n"
    "import bot.__main__ as m; m.check_health = boom\n"
    "sys.exit(m.main(sys.argv[1:]))\n"
)


def test_an_unexpected_error_is_one_redacted_line_not_a_traceback(tmp_path: Path) -> None:
    """The last-resort handler: whatever escapes a subcommand is one line on stderr, exit 1, secrets redacted."""
    url = "postgresql://k401:q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D@127.0.0.1:1/k401"
    result = run_cli("health", cwd=tmp_path, launcher=("-c", LAUNCH_FAILING), BOT_DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr == "internal error: RuntimeError: connect to [redacted] failed\n"


@pytest.mark.parametrize("line", ["-0%", "-5%", "--inflow"])
def test_a_line_that_starts_with_a_dash_is_a_command_not_an_option(
    line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: argparse took `-0%` for an unknown option (usage text, no answer)."""
    status = main(["ask", line, "--lang", "en", "--offline"])
    out = capsys.readouterr().out
    assert status == 2
    assert f"Unknown command “{line}”. Try `/help`." in out
    status = main(["ask", "--lang", "en", line, "--offline"])
    assert status == 2 and f"Unknown command “{line}”" in capsys.readouterr().out


LAUNCH_THREAD_FAILING = (
    "import os, runpy, sys, threading, bot.infra.health as h\n"
    "def check(*a, **k):\n"
    "    def fail(): raise RuntimeError('thread saw ' + os.environ['BOT_DATABASE_URL'])\n"
    "    t = threading.Thread(target=fail, name='worker'); t.start(); t.join()\n"
    "    return True, 'ok'\n"
    "h.check_health = check\n"
    "sys.argv = ['bot', *sys.argv[1:]]\n"
    "runpy.run_module('bot', run_name='__main__', alter_sys=True)\n"
)


def test_an_exception_in_a_thread_is_logged_redacted_not_printed_raw(tmp_path: Path) -> None:
    """Before: threading's default hook printed the traceback, URL and all, straight to stderr."""
    url = "postgresql://k401:q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D@127.0.0.1:1/k401"
    result = run_cli("health", cwd=tmp_path, launcher=("-c", LAUNCH_THREAD_FAILING), BOT_DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert "uncaught exception in thread worker" in result.stderr
    assert "RuntimeError: thread saw [redacted]" in result.stderr
    assert "q7Rk2mZ9Xw" not in result.stderr


@pytest.mark.parametrize(
    ("url", "safe", "password"),
    [
        (
            "postgresql://bot:q7Rk2mZ9Xw%2FLp3Vb8Nc%2BHt5Ys%3D@db:5432/bot",
            "postgresql://bot@db:5432/bot",
            GENERATED_PASSWORD,
        ),
        ("postgres://db/bot", "postgres://db:5432/bot", None),
        ("postgresql://127.0.0.1:5432/bot?user=bob@corp", "postgresql://127.0.0.1:5432/bot", None),
        ("postgresql://u:pa:ss@[::1]:6432,db2/bot", "postgresql://u@[::1]:6432,db2:5432/bot", "pa:ss"),
    ],
)
def test_well_formed_urls_parse(url: str, safe: str, password: str | None) -> None:
    from bot.infra.dburl import parse_database_url

    parsed = parse_database_url(url)
    assert (parsed.safe, parsed.password) == (safe, password)
