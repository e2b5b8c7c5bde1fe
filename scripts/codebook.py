"""data/CODEBOOK.md as HTML for the method page, rendered by the build into the site's metadata (so the
running site, and its deploy images, need neither the Markdown file nor a Markdown library)."""
import html
import re
from pathlib import Path


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def codebook_html(markdown: str) -> str:
    """The codebook as HTML, headings shifted below the page's own and anchored, and each enumerated value
    anchored as <field>-<value> (e.g. #weapon_mentions-status-hypothetical), so pages link a word to its meaning."""
    from markdown_it import MarkdownIt
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    field = ""
    out = []
    for line in rendered.splitlines():
        heading = re.match(r"<h([1-6])>(.*)</h\1>", line)
        if heading:
            level, text = int(heading.group(1)), heading.group(2)
            plain = re.sub(r"<[^>]+>", "", text)
            first = re.split(r"[ ,]", html.unescape(plain))[0]
            field = first.replace(".", "-") if "." in first else ""
            line = f'<h{min(level + 1, 6)} id="codebook-{slug(plain)}">{text}</h{min(level + 1, 6)}>'
        elif field:
            line = re.sub(r"^<li><code>([^<]+)</code>",
                          lambda m: f'<li id="{field}-{slug(html.unescape(m.group(1)))}"><code>{m.group(1)}</code>', line)
        out.append(line)
    return "\n".join(out)




def render(path: Path) -> str | None:
    return codebook_html(path.read_text(encoding="utf-8")) if path.is_file() else None
