"""The README stays short and keeps what CI and the Space read; every relative link of the README and
the site resolves; the site builds with `mkdocs build --strict` and loads nothing from the network."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scoring import config
from tests.docs.conftest import README, doc_pages

MAX_README_LINES = 250
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _readme_block(text: str, marker: str) -> str:
    """The fenced block after `<!-- marker -->`, read as .ci/run's awk reads it."""
    lines = text.splitlines()
    start = lines.index(f"<!-- {marker} -->")
    assert lines[start + 1].startswith("```"), f"the line after <!-- {marker} --> must open a fenced block"
    end = next(i for i in range(start + 2, len(lines)) if lines[i].startswith("```"))
    return "\n".join(lines[start + 2:end]).strip()


def test_readme_is_short_and_keeps_what_ci_and_the_space_read():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_README_LINES
    assert text.startswith("---\n") and "\nsdk: docker\n" in text.split("\n---\n", 1)[0]  # the Space's card
    assert "app_port: 7860" in text.split("\n---\n", 1)[0]
    assert _readme_block(text, "app-command") == "pip install -r requirements.txt && python app_gradio.py"
    assert "pytest" in _readme_block(text, "test-command")


def _slugs(page: Path) -> set[str]:
    from markdown.extensions.toc import slugify

    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slugify(heading.replace("`", ""), "-")
            for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def test_the_link_finder_finds_links():
    sample = "[a](x.md) ![i](p.png) `[no](code.md)` [b](y.md#part)\n```\n[no](fence.md)\n```\n"
    page = Path(config.PROJECT_ROOT / "README.md")
    assert LINK.findall(INLINE_CODE.sub("", FENCE.sub("", sample))) == ["x.md", "p.png", "y.md#part"]
    assert _links(page), "README.md has no link at all"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(config.PROJECT_ROOT)))
def test_every_relative_link_resolves(page: Path):
    broken = []
    for target in _links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _slugs(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_site_builds_strictly_and_loads_nothing_from_the_network(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    pages = list(site.rglob("*.html"))
    assert (site / "index.html").is_file() and (site / "api.html").is_file() and len(pages) >= 10
    fetched = re.compile(r"<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    offenders = {p.name for p in pages if fetched.search(p.read_text(encoding="utf-8"))}
    css = " ".join(p.read_text(encoding="utf-8") for p in site.rglob("*.css"))
    assert not offenders, f"pages that load a resource from the network: {sorted(offenders)}"
    assert "fonts.googleapis" not in css and "@import url(http" not in css


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(config.PROJECT_ROOT)))
def test_every_project_file_named_in_code_exists(page: Path):
    """A module path in backticks (`serving/kernels.py`) names a file of the project: a module that
    moves or goes leaves no stale path behind in the docs."""
    named = re.findall(r"`((?:[\w-]+/)+[\w-]+\.py)`", page.read_text(encoding="utf-8"))
    missing = sorted({path for path in named if not (config.PROJECT_ROOT / path).is_file()})
    assert not missing, f"{page.name} names files that do not exist: {missing}"


def test_every_setting_is_in_the_settings_table(pages):
    """Each environment variable of `scoring.config.Settings` has a row in the API page's table."""
    table = [line for line in pages["docs/api.md"].splitlines() if line.startswith("| `")]
    documented = {name for line in table for name in re.findall(r"`([A-Z][A-Z_]+)`", line.split("|")[1])}
    assert {name.upper() for name in config.Settings.model_fields} <= documented


def test_getting_started_repeats_the_readme_commands_as_they_are(pages):
    blocks = re.findall(r"```bash\n(.*?)```", pages["docs/getting-started.md"], re.S)
    for marker in ("app-command", "test-command"):
        assert _readme_block(pages["README.md"], marker) in [b.strip() for b in blocks], marker
