"""Subset Noto Sans CJK to the characters this bot's charts can draw, for bot/fonts/ (committed, shipped in the wheel).

Chinese chart labels then render on a machine without any CJK system font. The subset holds every character of
config/ and templates/ in both Traditional (as written) and Simplified (as the bot converts it), every chart label
in bot/chart.py, CLDR's large-number units for both scripts, and printable ASCII, so a config or template edit
rarely needs a new subset (tests/test_chart_font.py says when it does).

    apt-get install fonts-noto-cjk        # the source font (OFL 1.1), once
    python scripts/subset_font.py         # rewrites bot/fonts/*.otf; commit them

The source is the Debian/Google Noto Sans CJK Regular collection; each face is renamed so it never shadows an
installed Noto font of the same name (the system font stays the first choice when present).
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answers.chart import BUNDLED_FONTS, chart_texts  # noqa: E402
from bot.domain.facts import load_facts  # noqa: E402

DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
# The faces in the collection to take, per shipped file: mainland glyph shapes for zh-CN, Taiwan's for zh-TW.
FACES = {"zh-TW": "Noto Sans CJK TC", "zh-CN": "Noto Sans CJK SC"}
# Units CLDR may put after a number (萬 億 兆 / 万 亿 万亿), and typography the templates may add later.
EXTRA = "萬億兆万亿千百十零年月日時分秒美元人歲岁天約约占（）「」『』《》【】〈〉、，。：；！？…—–－～・·％×÷→←▸◀█"


def characters() -> str:
    facts = load_facts(ROOT / "config")
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "config").glob("*.toml"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "templates").rglob("*.j2"))]
    texts += chart_texts()
    written = "".join(texts) + EXTRA
    wanted = set(written) | set(facts.simplify(written)) | set(string.printable.strip()) | {" "}
    return "".join(sorted(c for c in wanted if c.isprintable()))


def _face(source: Path, family: str) -> TTFont:
    if source.suffix.lower() in (".ttc", ".otc"):
        for font in TTCollection(str(source)).fonts:
            if font["name"].getDebugName(1) == family:
                return font
        raise SystemExit(f"{source}: no face named {family!r}")
    return TTFont(str(source))


def _rename(font: TTFont, family: str) -> None:
    """A family name of our own (OFL: a Modified Version), keeping the copyright and licence records."""
    full = f"{family} Regular"
    postscript = family.replace(" ", "") + "-Regular"
    names = {1: family, 2: "Regular", 3: f"{postscript};subset", 4: full, 6: postscript, 16: family, 17: "Regular"}
    name_table = font["name"]
    name_table.names = [n for n in name_table.names if n.nameID not in names]
    for name_id, value in names.items():
        name_table.setName(value, name_id, 3, 1, 0x409)
        name_table.setName(value, name_id, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        top = cff.topDictIndex[0]
        top.FullName, top.FamilyName = full, family


def build(source: Path, out_dir: Path) -> list[Path]:
    text = characters()
    written = []
    for lang, face in FACES.items():
        font = _face(source, face)
        options = subset.Options()
        options.layout_features = []  # matplotlib does no OpenType shaping: alternates would only add size
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.desubroutinize = True  # smaller after compression and simpler for FreeType
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        _rename(font, BUNDLED_FONTS[lang].family)
        font.recalcTimestamp = False  # same input, same bytes: the committed file changes only with its glyphs
        target = out_dir / BUNDLED_FONTS[lang].filename
        font.save(str(target))
        written.append(target)
        print(f"{target.relative_to(ROOT)}: {len(text)} characters, {target.stat().st_size:,} bytes")
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="Noto Sans CJK .ttc/.otf")
    parser.add_argument("--out", type=Path, default=ROOT / "bot" / "fonts")
    args = parser.parse_args()
    if not args.source.exists():
        print(f"{args.source} not found: apt-get install fonts-noto-cjk (or pass --source)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.source, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
