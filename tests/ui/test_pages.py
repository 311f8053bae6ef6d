"""Every page of the workplace, the portal and the console in Chromium at 1366×768 and
390×844, on the demo data set (SPEC D2-D4, D7, D9, P2-P7): no sideways scrolling, the
page's main action on the first screen, no page taller than a few screens unless it is a
paged list, the wizard's tabs and stepper, the card's panel beside the content."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from core.testing import LiveServer, enable_test_login, require_or_skip
from tests.ui.walk import MEASURE, SIZES, Page, load_demo, visit

SCREENS = 3  # a page may be this many screens tall (paged lists: more)


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

# What axe-core finds on a page: its serious and critical violations, a line each.
AXE_RUN = (
    "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    ".filter((v) => v.impact === 'serious' || v.impact === 'critical')"
    ".map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', '))"
)


@pytest.fixture(scope="module")
def walk(tmp_path_factory, _shared_chromium):
    """One app with the demo data, the run's Chromium, one logged-in context per visitor
    and size."""
    from core.app import create_app
    from core.db import db

    tmp = tmp_path_factory.mktemp("pages")
    app = create_app(
        {"DATA_DIR": str(tmp), "DATABASE_URL": f"sqlite:///{tmp}/pages.sqlite3", "SERVER_NAME": None},
        environment="testing",
    )
    with app.app_context():
        db.create_all()
    pages = load_demo(app)
    enable_test_login(app)
    server = LiveServer(app).start()
    browser = _shared_chromium.get()
    contexts, errors = {}, []

    def context_for(who, viewport):
        key = (who, viewport["width"])
        if key not in contexts:
            contexts[key] = browser.new_context(viewport=viewport)
            tab = contexts[key].new_page()
            tab.on("pageerror", lambda error: errors.append(f"{tab.url}: {error}"))
            tab.goto(f"{server.url}/_test/login/{who[0]}/{who[1]}")
        return contexts[key].pages[0]

    yield server, pages, context_for, errors
    for context in contexts.values():
        context.close()
    server.stop()
    with app.app_context():
        db.engine.dispose()


@dataclass
class Seen:
    """A page as a visitor saw it at one size: its figures, where its main action is,
    and what axe-core found (``None`` without axe-core)."""

    page: Page
    figures: dict
    main: dict | None
    axe: list[str] | None


@pytest.fixture(scope="module")
def seen(walk):
    """``seen(size)``: every page, visited once at that size for the fitting and the axe
    tests alike (each visit costs a page load, the wizard's pages six forms more)."""
    server, pages, context_for, _errors = walk
    source = AXE.read_text(encoding="utf-8") if AXE.exists() else None
    walked: dict[str, list[Seen]] = {}

    def at(size: str) -> list[Seen]:
        if size not in walked:
            found = []
            for page in pages:
                tab = visit(context_for, server.url, page, SIZES[size])
                figures = tab.evaluate(MEASURE)
                main = tab.locator(page.main).first
                box = main.bounding_box() if main.count() else None
                axe = None
                if source is not None:
                    try:
                        if not tab.evaluate("() => typeof window.axe === 'object'"):
                            tab.evaluate(source + "\n;undefined")  # evaluated by the browser's debugger: no CSP applies
                        axe = tab.evaluate(AXE_RUN)
                    except PlaywrightError as error:  # the axe test reports it
                        axe = [f"axe-core did not run: {error}"]
                found.append(Seen(page, figures, box, axe))
            walked[size] = found
        return walked[size]

    return at


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen(walk, seen, size):
    _server, _pages, _context_for, errors = walk
    viewport = SIZES[size]
    problems = []
    for one in seen(size):
        page, figures, box = one.page, one.figures, one.main
        if figures["scrollWidth"] > figures["width"]:
            problems.append(f"{page.name}: scrolls sideways ({figures['scrollWidth']} px): {figures['wide']}")
        if not page.paged and figures["height"] > SCREENS * viewport["height"]:
            problems.append(f"{page.name}: {figures['height']} px tall")
        if box is None or box["y"] + min(box["height"], 44) > viewport["height"]:
            problems.append(f"{page.name}: {page.main} not on the first screen ({box})")
    assert problems == [] and errors == [], problems + errors


@pytest.mark.parametrize("size", list(SIZES))
def test_the_wizard_shows_its_tabs_and_stepper(walk, size):
    server, pages, context_for, _errors = walk
    wizard = next(p for p in pages if p.name == "wizard-type")
    tab = visit(context_for, server.url, wizard, SIZES[size])
    assert tab.locator(".wizard-tabs .active, .tabs .active").first.inner_text().strip() == "Общие"
    assert tab.eval_on_selector(".wizard-steps", "el => getComputedStyle(el).display") == "flex"
    assert tab.locator(".wizard-steps li.current").is_visible()


def test_the_cards_panel_is_beside_the_content_on_a_desktop(walk):
    server, pages, context_for, _errors = walk
    card = next(p for p in pages if p.name == "application-card")
    tab = visit(context_for, server.url, card, SIZES["1366x768"])
    panel = tab.locator(".card-panel").bounding_box()
    content = tab.locator(".card-layout > :first-child").bounding_box()
    assert panel["x"] >= content["x"] + content["width"] and panel["y"] < 768 / 2, (panel, content)


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_passes_axe(seen, size):
    """axe-core (npm) over every page: no serious or critical violation; every button has
    an accessible name (axe's ``button-name`` rule, serious)."""
    require_or_skip([] if AXE.exists() else [f"axe-core ({AXE}; npm ci)"])
    problems = [f"{one.page.name}: {line}" for one in seen(size) for line in one.axe]
    assert problems == [], "\n".join(problems)
