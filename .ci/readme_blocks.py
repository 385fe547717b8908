"""The README's production commands, as CI runs them (so that docs and CI cannot drift).

Reads the fenced blocks of README.md whose info string ends in ``production`` (``sh
production``, ``nginx production``), in order, replaces this machine's values for the
README's standard ones (``--map OLD=NEW``: ports, directories, users), and writes them to
OUTDIR as ``01-sh``, ``02-sh``, ... Standard library only: CI runs it before anything else
is known to work.

    python .ci/readme_blocks.py README.md OUTDIR --map 127.0.0.1:5432=127.0.0.1:41234 ...
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```\s*$", re.MULTILINE | re.DOTALL)
SECTION = "## Production"


@dataclass(frozen=True)
class Block:
    language: str
    body: str


def production_section(readme: str) -> str:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start : end if end != -1 else len(readme)]


def blocks(readme: str, *, tag: str = "production") -> list[Block]:
    """The tagged blocks of the production section, in order."""
    found = []
    for match in FENCE.finditer(production_section(readme)):
        words = match["info"].split()
        if len(words) == 2 and words[1] == tag:
            found.append(Block(words[0], match["body"]))
    return found


def all_blocks(readme: str) -> list[Block]:
    """Every fenced block of the production section (tagged or not)."""
    return [
        Block((m["info"].split() or [""])[0], m["body"])
        for m in FENCE.finditer(production_section(readme))
    ]


def apply_map(text: str, mapping: list[tuple[str, str]]) -> str:
    for old, new in mapping:
        text = text.replace(old, new)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("readme", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--map", action="append", default=[], metavar="OLD=NEW")
    args = parser.parse_args(argv)
    mapping = [tuple(item.split("=", 1)) for item in args.map]
    args.outdir.mkdir(parents=True, exist_ok=True)
    found = blocks(args.readme.read_text(encoding="utf-8"))
    if not found:
        print("no production blocks in the README", file=sys.stderr)
        return 1
    for number, block in enumerate(found, 1):
        path = args.outdir / f"{number:02d}-{block.language}"
        path.write_text(apply_map(block.body, mapping), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
