"""`python -m tests.golden [--update]`: compare the golden answers with the code, or rewrite them (see __init__)."""

from __future__ import annotations

import argparse
import sys

from tests.golden import GOLDEN_DIR, context, expected_files, stored_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden")
    parser.add_argument("--update", action="store_true", help="rewrite tests/golden/ from the current code")
    args = parser.parse_args(argv)
    expected, stored = expected_files(context()), stored_files()
    changed = sorted(p for p in expected if stored.get(p) != expected[p])
    stale = sorted(set(stored) - set(expected))
    if args.update:
        for path in changed:
            (GOLDEN_DIR / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN_DIR / path).write_text(expected[path], "utf-8")
        for path in stale:
            (GOLDEN_DIR / path).unlink()
    for path in changed:
        print(("wrote " if args.update else "differs ") + path)
    for path in stale:
        print(("removed " if args.update else "left over ") + path)
    print(f"{len(expected)} golden answers, {len(changed)} changed, {len(stale)} left over")
    return 0 if args.update or not (changed or stale) else 1


if __name__ == "__main__":
    sys.exit(main())
