"""Make the image's virtualenv smaller without removing anything the bot uses (the Dockerfile runs this in its
build stage; docs/image.md lists what goes and why it is safe):

1. test suites inside installed packages (numpy, matplotlib, …), matplotlib's sample data, C/Cython sources,
   headers, static libraries and type stubs: nothing imports them at run time;
2. Babel's locale data for the languages the bot does not speak: it keeps en, zh_Hant_TW and zh_Hans_CN and
   their parents (en_US -> en -> root, zh_Hant_TW -> zh_Hant -> root, zh_Hans_CN -> zh_Hans -> zh -> root);
3. symbol tables of compiled extensions (`strip --strip-unneeded`: what a debugger reads, never the loader);
4. bytecode: every __pycache__ goes, then a warm-up runs the bot (imports of every mode, an answer and a chart in
   each language) and exactly the modules it imported are compiled again, as unchecked-hash .pyc files (valid
   whatever the files' times after COPY). A module imported later still runs: Python compiles it in memory.

    python scripts/slim_venv.py /opt/venv
"""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

BABEL_KEEP = {"root", "en", "en_US", "zh", "zh_Hans", "zh_Hans_CN", "zh_Hant", "zh_Hant_TW"}
DEAD_DIRS = {"tests", "test"}  # directories by name, anywhere below a package
DEAD_SUFFIXES = {".c", ".cpp", ".h", ".hpp", ".pyx", ".pxd", ".pxi", ".pyi", ".a"}
DEAD_PATHS = ("matplotlib/mpl-data/sample_data", "numpy/_core/include", "numpy/_core/lib/pkgconfig")
KEEP_DIRS = {"numpy/testing", "matplotlib/testing"}  # imported by name from library code: keep, tests or not

WARM_UP = """
import sys, tempfile
import bot.http.serve, bot.gateway.runner, bot.store.postgres, bot.store.copy, bot.infra.metrics, bot.console
from bot.__main__ import main
out = tempfile.mkdtemp()
for lang in ("en", "zh-TW", "zh-CN"):
    for line in ("/inflow 2% pool:dc", "/401k", "/opinions", "/sources", "/help"):
        assert main(["ask", line, "--lang", lang, "--offline", "--chart-dir", out]) == 0, line
assert main(["check-config"]) == 0
"""


def site_packages(venv: Path) -> Path:
    found = list(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"no single site-packages under {venv}: {found}")
    return found[0]


def size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def remove_dead_files(site: Path) -> None:
    for path in sorted(site.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        rel = path.relative_to(site).as_posix()
        if any(rel == keep or rel.startswith(keep + "/") for keep in KEEP_DIRS):
            continue
        if path.is_dir() and path.name in DEAD_DIRS and len(path.relative_to(site).parts) > 1:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.suffix in DEAD_SUFFIXES:
            path.unlink()
    for rel in DEAD_PATHS:
        shutil.rmtree(site / rel, ignore_errors=True)
    locale_data = site / "babel" / "locale-data"
    for dat in locale_data.glob("*.dat"):
        if dat.stem not in BABEL_KEEP:
            dat.unlink()


IMPORT_EACH = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
        print(name)
    except Exception:
        pass
"""


def _importable(python: Path, names: list[str]) -> set[str]:
    run = subprocess.run([str(python), "-c", IMPORT_EACH, *names], capture_output=True, text=True, check=False)
    return set(run.stdout.split())


def strip_extensions(venv: Path, site: Path) -> None:
    """Extension modules only (the vendored *.libs are left as auditwheel patched them); every module that imported
    before must import after, else the originals are put back."""
    strip = shutil.which("strip")
    if strip is None:
        print("slim: no `strip` here; extensions keep their symbol tables", file=sys.stderr)
        return
    modules = {
        p: ".".join(p.relative_to(site).with_name(p.name.split(".")[0]).parts)
        for p in site.rglob("*.so")
        if p.is_file() and not any(part.endswith(".libs") for part in p.relative_to(site).parts)
    }
    python = venv / "bin" / "python"
    before = _importable(python, sorted(modules.values()))
    with tempfile.TemporaryDirectory() as backup:
        originals = {}
        for i, lib in enumerate(modules):
            originals[lib] = Path(backup) / str(i)
            shutil.copy2(lib, originals[lib])
            subprocess.run([strip, "--strip-unneeded", str(lib)], check=True)
        lost = before - _importable(python, sorted(before))
        if lost:
            print(f"slim: stripping broke {sorted(lost)}; keeping the original extensions", file=sys.stderr)
            for lib, original in originals.items():
                shutil.copy2(original, lib)


def recompile_what_runs(venv: Path, site: Path) -> int:
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    python = venv / "bin" / "python"
    with tempfile.TemporaryDirectory() as work:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "BOT_MARKET_ENABLED": "0",
            "BOT_DB_PATH": f"{work}/warm.sqlite3",
            "MPLCONFIGDIR": f"{work}/mpl",
            "LOG_LEVEL": "WARNING",
        }
        subprocess.run([str(python), "-c", WARM_UP], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    used: list[Path] = []
    for cache in site.rglob("__pycache__"):
        for pyc in cache.glob("*.pyc"):
            source = cache.parent / (pyc.name.split(".")[0] + ".py")
            if source.is_file():
                used.append(source)
        shutil.rmtree(cache)
    for source in used:
        py_compile.compile(str(source), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return len(used)


def main(argv: list[str]) -> int:
    venv = Path(argv[0] if argv else sysconfig.get_paths()["data"])
    site = site_packages(venv)
    before = size(venv)
    remove_dead_files(site)
    strip_extensions(venv, site)
    compiled = recompile_what_runs(venv, site)
    after = size(venv)
    print(f"slim: {venv} {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB ({compiled} modules precompiled)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
