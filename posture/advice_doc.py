"""docs/advice.md: the advice catalog as a page, one section (and anchor) per advice id.

Alert annotations in Grafana and the report link to `docs/advice.md#<advice id>`; the page is made from the
catalog (`processing/advice/catalog.toml`), never edited by hand. Regenerate it with
``python -m posture.advice_doc``; a test fails when the checked-in page is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from processing.advice import AdviceCatalog, load_catalog

__all__ = ["ADVICE_DOC", "render_advice_page", "write_advice_page"]

#: The page, relative to the repository root.
ADVICE_DOC = Path("docs/advice.md")

_CATEGORY_TITLES = {
    "cause": "What causes lower back pain in runners",
    "prevention": "Preventing it",
    "treatment": "When it hurts",
    "see_a_doctor": "When to see a doctor",
}


def render_advice_page(catalog: AdviceCatalog) -> str:
    """The Markdown page: the notice, then each category's items with their cue, text and metrics."""
    lines = [
        "# Advice for avoiding lower back pain while running",
        "",
        "<!-- Generated from processing/advice/catalog.toml by `python -m posture.advice_doc`: edit the "
        "catalog, not this page. -->",
        "",
        catalog.notice,
        "",
        "Every alert of `posture run`, the report and the Grafana alert rules points to the items below by "
        "their id (the anchor of each section).",
    ]
    for category, title in _CATEGORY_TITLES.items():
        items = catalog.by_category(category)  # type: ignore[arg-type]
        if not items:
            continue
        lines += ["", f"## {title}"]
        for item in items:
            lines += ["", f'<a id="{item.id}"></a>', f"### {item.title}", "", f"*Cue:* {item.cue}", ""]
            lines.append(item.explanation)
            if item.metrics:
                lines += [
                    "",
                    "Measured by: " + ", ".join(f"`{m}`" for m in item.metrics) + f" (id `{item.id}`)",
                ]
            else:
                lines += ["", f"(id `{item.id}`)"]
    return "\n".join(lines) + "\n"


def write_advice_page(root: Path) -> Path:
    """Write the page under the repository `root`; returns its path."""
    path = root / ADVICE_DOC
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_advice_page(load_catalog()), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print(write_advice_page(root))
