"""What the documentation tests read: the README, the site's pages and its configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import config

DOCS_DIR = config.PROJECT_ROOT / "docs"
README = config.PROJECT_ROOT / "README.md"


def doc_pages() -> list[Path]:
    """README.md and every Markdown page of the site."""
    return [README, *sorted(DOCS_DIR.rglob("*.md"))]


@pytest.fixture(scope="session")
def pages() -> dict[str, str]:
    """Each documentation page's text by its path relative to the project root."""
    return {str(p.relative_to(config.PROJECT_ROOT)): p.read_text(encoding="utf-8") for p in doc_pages()}
