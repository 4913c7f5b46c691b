"""A non-editable install (a wheel, as the Docker image uses) must carry templates/ and config/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import REPO, scrubbed_env


def test_wheel_carries_the_data_and_answers_from_anywhere(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "bot/_data/config/facts.toml",
        "bot/_data/config/opinions.toml",
        "bot/_data/config/commands.toml",
        "bot/_data/templates/en/inflow.j2",
        "bot/_data/templates/zh-TW/inflow.j2",
        "bot/_data/templates/shared/macros.j2",
        "bot/_data/config/zh-CN-overrides.toml",
        "bot/fonts/k401-chart-sans-tc.otf",  # Chinese charts without a system font
        "bot/fonts/k401-chart-sans-sc.otf",
        "bot/fonts/OFL.txt",
        "bot/__main__.py",
    ):
        assert required in names

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = scrubbed_env(PYTHONPATH=str(target), BOT_DB_PATH=str(tmp_path / "bot.sqlite3"))
    code = "import bot.domain.paths as p; print(p.data_root())"
    root = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=elsewhere, check=True
    )
    assert root.stdout.strip() == str(target / "bot" / "_data")

    def ask(lang: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "ask", "/inflow 1% pool:retirement", "--lang", lang],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=elsewhere,
            timeout=60,
        )

    answer = ask("zh-TW")
    assert answer.returncode == 0, answer.stderr
    assert "4,810億美元" in answer.stdout
    simplified = ask("zh-CN")
    assert "新增买盘 **4810亿美元**" in simplified.stdout  # the override file travels with the wheel
