"""The files the Docker image is built from and the Hugging Face Space receives: `ship.txt`, resolved.

One list for every consumer: the Space upload (`deploy_space.py`), the CI image build and the
container test (`--copy DIR`: a build context holding exactly those files), and `.dockerignore`
(`--write-dockerignore`; the tests check it is current). Needs only the standard library.

usage: python .github/ship.py [--list | --copy DIR | --write-dockerignore | --check]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIP_FILE = ROOT / "ship.txt"
NEVER = ("__pycache__", ".pyc")  # byte code is made in the image, never shipped


def patterns(ship_file: Path = SHIP_FILE) -> list[str]:
    """The patterns of `ship.txt`, comments and blank lines left out."""
    lines = (line.split("#", 1)[0].strip() for line in ship_file.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def files(root: Path = ROOT, ship_file: Path = SHIP_FILE) -> list[str]:
    """Every file the patterns match under `root`, as sorted POSIX paths relative to it."""
    found = set()
    for pattern in patterns(ship_file):
        for path in root.glob(pattern):
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not any(part in relative for part in NEVER):
                found.add(relative)
    return sorted(found)


def hub_patterns(ship_file: Path = SHIP_FILE) -> list[str]:
    """The patterns for huggingface_hub (fnmatch, where `*` crosses folders): what to delete on the Space."""
    return [p.replace("**/", "") for p in patterns(ship_file)]


def dockerignore(ship_file: Path = SHIP_FILE) -> str:
    """`.dockerignore` for a build from the whole checkout: everything out but the shipped patterns."""
    lines = ["# Generated from ship.txt by `python .github/ship.py --write-dockerignore`: do not edit.", "*"]
    lines += [f"!{p}" for p in patterns(ship_file)]
    lines += ["**/__pycache__", "**/*.pyc"]
    return "\n".join(lines) + "\n"


def copy(target: Path, root: Path = ROOT) -> list[str]:
    """Copy the shipped files into `target` (a build context, or what the Space would hold)."""
    shipped = files(root)
    for name in shipped:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)
    return shipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="print the shipped files (the default)")
    action.add_argument("--copy", type=Path, metavar="DIR", help="copy the shipped files into DIR")
    action.add_argument("--write-dockerignore", action="store_true", help="write .dockerignore from ship.txt")
    action.add_argument("--check", action="store_true", help="exit 1 when .dockerignore is not ship.txt's")
    args = parser.parse_args(argv)
    if args.copy:
        print(f"{len(copy(args.copy))} files copied into {args.copy}")
    elif args.write_dockerignore:
        (ROOT / ".dockerignore").write_text(dockerignore(), encoding="utf-8")
    elif args.check:
        current = (ROOT / ".dockerignore").read_text(encoding="utf-8")
        if current != dockerignore():
            print(".dockerignore is not generated from ship.txt: run python .github/ship.py --write-dockerignore",
                  file=sys.stderr)
            return 1
    else:
        print("\n".join(files()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
