"""The README and docs/ stand on their own: every link is relative, stays in the repository, and its target
(and #anchor, for a Markdown page) exists."""
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKDOWN = MarkdownIt("commonmark")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def _tokens(page: Path):
    for token in MARKDOWN.parse(page.read_text(encoding="utf-8")):
        yield token
        yield from token.children or ()


def links(page: Path) -> list[str]:
    """Every link and image target of *page*, also in inline HTML."""
    found = []
    for token in _tokens(page):
        if token.type == "link_open":
            found.append(token.attrs["href"])
        elif token.type == "image":
            found.append(token.attrs["src"])
        elif token.type in ("html_inline", "html_block"):
            found += HTML_LINK.findall(token.content)
    return found


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub makes for *page*: lower case, punctuation dropped, spaces to hyphens."""
    tokens = MARKDOWN.parse(page.read_text(encoding="utf-8"))
    seen, out = {}, set()
    for heading, inline in zip(tokens, tokens[1:]):
        if heading.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children if child.type in ("text", "code_inline"))
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def test_there_are_pages_and_links():
    assert len(PAGES) > 1 and all(links(page) for page in PAGES if page.name in ("README.md", "architecture.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_link_stays_in_the_repository_and_its_target_exists(page):
    wrong = []
    for href in links(page):
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:|//", href):
            wrong.append(f"{href}: leaves the repository")
            continue
        path, _, anchor = href.partition("#")
        target = (page.parent / unquote(path)).resolve() if path else page
        if not target.is_relative_to(ROOT):
            wrong.append(f"{href}: outside the repository")
        elif not target.exists():
            wrong.append(f"{href}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            wrong.append(f"{href}: no heading with this anchor in {target.relative_to(ROOT)}")
    assert wrong == [], f"{page.relative_to(ROOT)}: {wrong}"


def test_a_link_out_of_the_repository_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](../shared/DESIGN.md) <https://example.org/> [b](x.md#y) `[c](not-a-link.md)`\n"
                    '<a href="http://example.org/">d</a>\n')
    assert links(page) == ["../shared/DESIGN.md", "https://example.org/", "x.md#y", "http://example.org/"]
