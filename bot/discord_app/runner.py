"""Entry point for `run` and `sync`."""

from __future__ import annotations

import argparse
import sys

from bot.settings import Settings


def run_discord(settings: Settings, args: argparse.Namespace) -> int:
    print("The Discord bot is not wired yet; use `python -m bot ask` or the console.", file=sys.stderr)
    return 1
