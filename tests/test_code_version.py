"""Cached answers are keyed by the code that made them, not only by config and templates."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.answers import cache as core_module
from bot.answers.core import Core, code_version, hash_answer_code


def test_editing_answer_code_changes_every_cache_key(tmp_path: Path, core: Core) -> None:
    package = Path(core_module.__file__).resolve().parent.parent
    for name in core_module._ANSWER_CODE:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(package / f"{name}.py", tmp_path / f"{name}.py")
    before = hash_answer_code(tmp_path)
    assert before == code_version()  # same code, same version
    (tmp_path / "domain/simplified.py").write_text((package / "domain/simplified.py").read_text() + "\n# edited\n")
    assert hash_answer_code(tmp_path) != before
    assert core.data_version.endswith(f"-{code_version()}")
