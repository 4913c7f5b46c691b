"""Where the package's data lives: beside the package in a checkout, inside it in a wheel (never the cwd)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # bot/


def data_root() -> Path:
    """The folder holding templates/ and config/."""
    bundled = _PACKAGE_DIR / "_data"
    if (bundled / "config").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def config_dir() -> Path:
    return data_root() / "config"


def templates_dir() -> Path:
    return data_root() / "templates"
