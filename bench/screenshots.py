"""Screenshots of every page of the workplace, the portal and the console at 1366×768 and
390×844, on the demo data set: `python bench/screenshots.py DIR` (full-page PNGs).

Runs the app in-process on a temporary SQLite database with Debian's Chromium, like the
browser tests (tests/ui/walk.py lists the pages)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(out: Path) -> int:
    from playwright.sync_api import sync_playwright

    from core.app import create_app
    from core.db import db
    from core.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer, enable_test_login
    from tests.ui.walk import SIZES, load_demo, visit

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"DATA_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/screens.sqlite3", "SERVER_NAME": None},
            environment="testing",
        )
        with app.app_context():
            db.create_all()
        pages = load_demo(app)
        enable_test_login(app)
        server = LiveServer(app).start()
        contexts = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))

            def context_for(who, viewport):
                key = (who, viewport["width"])
                if key not in contexts:
                    contexts[key] = browser.new_context(viewport=viewport)
                    contexts[key].new_page().goto(f"{server.url}/_test/login/{who[0]}/{who[1]}")
                return contexts[key].pages[0]

            for size, viewport in SIZES.items():
                for page in pages:
                    tab = visit(context_for, server.url, page, viewport)
                    tab.screenshot(path=str(out / f"{page.name}-{size}.png"), full_page=True)
                    print(f"{page.name}-{size}.png")
            browser.close()
        server.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/screenshots.py DIR")
    sys.exit(main(Path(sys.argv[1])))
