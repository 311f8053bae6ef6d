"""The conclusion's PDF: WeasyPrint, PDF/A-2b, DejaVu embedded (SPEC D9, P6).

The visible mark «Документ подписан электронной подписью» (ГОСТ Р 7.0.97: certificate
number, owner, validity) is rendered in before signing, from the certificate the doctor
chose; the bytes are never changed after, so the detached signature covers exactly
what the patient downloads.

Profiled, a render spent a fifth of its time on the same work every time: a new font
configuration, the two @font-face rules loaded into it and the stylesheet parsed. The
stylesheet (``conclusion_pdf.css``, always in Russian like the document) is parsed once
a thread with its own ``FontConfiguration`` (Pango's font map is not shared between
threads) and handed to every render.
"""

from __future__ import annotations

import atexit
import threading
from datetime import date, datetime
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale, gettext

FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


def font_path(name: str) -> Path:
    configured = current_app.config.get("ESIGNATURE_FONT_DIR")
    for folder in ([configured] if configured else []) + list(FONT_FOLDERS):
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
    raise RuntimeError(f"font {name} not found: install fonts-dejavu-core or set ESIGNATURE_FONT_DIR")


def render_html(context: dict) -> str:
    return render_template("esignature/conclusion_pdf.html", **context)


_per_thread = threading.local()
# WeasyPrint's FontConfiguration.__del__ fails when run during interpreter shutdown.
atexit.register(lambda: _per_thread.__dict__.clear())


def _stylesheet():
    """(stylesheet, font configuration) of this thread, made once for its fonts."""
    fonts = (font_path("DejaVuSans.ttf"), font_path("DejaVuSans-Bold.ttf"))
    cached = getattr(_per_thread, "stylesheet", None)
    if cached is not None and cached[0] == fonts:
        return cached[1], cached[2]
    from weasyprint import CSS  # a heavy import (pango): only where a PDF is made
    from weasyprint.text.fonts import FontConfiguration

    with force_locale("ru"):
        text = render_template(
            "esignature/conclusion_pdf.css", font_regular=fonts[0].as_uri(), font_bold=fonts[1].as_uri(),
            page_label=gettext("Страница"), of_label=gettext("из"),
        )
    config = FontConfiguration()
    sheet = CSS(string=text, font_config=config, base_url=str(fonts[0].parent))
    _per_thread.stylesheet = (fonts, sheet, config)
    return sheet, config


def render_pdf(html: str) -> bytes:
    """PDF/A-2b bytes; title, author and dates come from the page's <title> and <meta>."""
    from weasyprint import HTML

    sheet, config = _stylesheet()
    return HTML(string=html, base_url=str(font_path("DejaVuSans.ttf").parent)).write_pdf(
        pdf_variant="pdf/a-2b", stylesheets=[sheet], font_config=config
    )


def format_day(value: date | datetime | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""
