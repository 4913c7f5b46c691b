"""What each runtime dependency costs: installed size (its files in site-packages, and its bundled .libs) and the
resident memory its import adds (a fresh interpreter per package). Prints a table, largest first.

    .venv/bin/python benchmarks/dependency_cost.py            # docs/image.md has the figures
"""

from __future__ import annotations

import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "requirements.lock"
# Distribution -> the module a process imports (where the name differs).
MODULES = {
    "discord-py": "discord",
    "pynacl": "nacl",
    "pillow": "PIL",
    "python-dateutil": "dateutil",
    "pydantic-settings": "pydantic_settings",
    "pydantic-core": "pydantic_core",
    "typing-extensions": "typing_extensions",
    "typing-inspection": "typing_inspection",
    "annotated-types": "annotated_types",
    "python-dotenv": "dotenv",
    "fonttools": "fontTools",
    "prometheus-client": "prometheus_client",
    "matplotlib": "matplotlib.pyplot",
    "opencc": "opencc",
    "pyyaml": "yaml",
}
# Resident memory (VmRSS, KiB) before and after importing one module, in a fresh interpreter.
RSS = (
    "import importlib, re, sys\n"
    "rss = lambda: int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
    "before = rss(); importlib.import_module(sys.argv[1]); print(rss() - before)"
)


def locked() -> list[str]:
    return sorted({m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", LOCK.read_text(), re.M)})


def installed_bytes(name: str) -> int:
    dist = md.distribution(name)
    total = 0
    for f in dist.files or []:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total


def import_rss_kib(module: str) -> int | None:
    run = subprocess.run([sys.executable, "-c", RSS, module], capture_output=True, text=True, check=False)
    return int(run.stdout.strip()) if run.returncode == 0 and run.stdout.strip() else None


def main() -> None:
    rows = []
    for name in locked():
        try:
            size = installed_bytes(name)
        except md.PackageNotFoundError:
            continue
        module = MODULES.get(name, name.replace("-", "_"))
        rows.append((size, name, module, import_rss_kib(module)))
    print(f"{'package':<22}{'installed MB':>13}{'import RSS MB':>15}")
    for size, name, _module, rss in sorted(rows, reverse=True):
        shown = "-" if rss is None else f"{rss / 1024:.1f}"
        print(f"{name:<22}{size / 1e6:>13.1f}{shown:>15}")
    print(f"{'total':<22}{sum(r[0] for r in rows) / 1e6:>13.1f}")


if __name__ == "__main__":
    main()
