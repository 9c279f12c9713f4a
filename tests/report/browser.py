"""A report page opened in a real headless browser (Debian's chromium driven by Playwright; docs/design.md,
"Browser tests"): what it logged, what it asked the network for, and what its plots drew."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import BrowserContext, ConsoleMessage, Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
#: As root on these machines, and without the background-networking flags chromium keeps calling hosts the
#: closed network refuses (docs/design.md "Browser tests").
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}


@dataclass(frozen=True, slots=True)
class PlotFacts:
    """One plotly plot as drawn: its element id, on-screen size, traces and drawn marks."""

    div_id: str
    width_px: float
    height_px: float
    traces: int
    marks: int  # markers, bars and non-empty line paths in its svg


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What a page did when it was opened."""

    console_errors: tuple[str, ...]
    page_errors: tuple[str, ...]
    foreign_requests: tuple[str, ...]
    plots: tuple[PlotFacts, ...]
    text: str


@contextmanager
def headless_chromium(user_data_dir: Path) -> Iterator[BrowserContext]:
    """A fresh chromium profile in `user_data_dir`, closed on exit."""
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        try:
            yield context
        finally:
            context.close()


_PLOTS_JS = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => {
  const box = div.getBoundingClientRect();
  const lines = Array.from(div.querySelectorAll('path.js-line'))
    .filter(p => (p.getAttribute('d') || '').length > 2).length;
  return {
    div_id: div.id,
    width_px: box.width,
    height_px: box.height,
    traces: div.querySelectorAll('g.trace').length,
    marks: div.querySelectorAll('.point').length + lines,
  };
})
"""


def open_page(context: BrowserContext, html: Path, screenshot: Path) -> PageFacts:
    """Open `html` (a file) in `context`, let its plots draw, take a full-page screenshot, and report.

    Every request other than the page itself is recorded and refused, so a page that needs the network shows
    it both here and as missing content in the screenshot.
    """
    page_url = html.resolve().as_uri()
    foreign: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []

    def route(r: Route) -> None:
        if r.request.url == page_url:
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "warning"):
            console_errors.append(f"{msg.type}: {msg.text}")

    page = context.new_page()
    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.goto(page_url, wait_until="load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.plot > div > div'))"
        ".every(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg'))",
        timeout=20_000,
    )
    page.wait_for_timeout(300)  # let plotly's transitions and the layout settle before the screenshot
    plots = tuple(PlotFacts(**p) for p in page.evaluate(_PLOTS_JS))
    page.screenshot(path=str(screenshot), full_page=True)
    text = page.inner_text("body")
    page.close()
    return PageFacts(tuple(console_errors), tuple(page_errors), tuple(foreign), plots, text)
