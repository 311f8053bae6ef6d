"""The patient pages on a phone-sized screen (issue 4: «works on a phone-sized screen»):
Chromium at 375×667, logged in through the development ESIA like a patient. No page
scrolls sideways and every control a patient presses is at least 44 px high."""

from __future__ import annotations

import pytest

from tests.portal.conftest import STANDARD, person

PHONE = {"width": 375, "height": 667}
MIN_TARGET = 44

# What a page may not have: content wider than the screen, and small targets among the
# controls a patient taps (buttons, links styled as buttons, form fields, menu items).
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== 'hidden';
  };
  const describe = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
    `${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''}` +
    ` «${(el.innerText || el.value || el.name || '').trim().slice(0, 40)}»`;
  const wide = [...document.querySelectorAll('body *')].filter(visible)
    .filter((el) => el.getBoundingClientRect().right > width + 1).map(describe);
  const controls = 'button, a.button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, ' +
    'textarea, label.radio, label.checkbox, .main-menu a, summary';
  const small = [...document.querySelectorAll(controls)].filter(visible)
    .filter((el) => el.getBoundingClientRect().height < %d)
    .map((el) => `${describe(el)}: ${Math.round(el.getBoundingClientRect().height)} px`);
  return {
    width, scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    wide, small, controls: document.querySelectorAll(controls).length,
  };
}""" % MIN_TARGET


@pytest.fixture
def phone(app, chromium):
    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def fits_the_phone(page, name: str, main: str) -> None:
    """The page has no horizontal scroll, its controls are big enough, ``main`` is there."""
    result = page.evaluate(MEASURE)
    assert result["width"] == PHONE["width"], result
    assert result["scrollWidth"] <= result["width"], f"{name} scrolls sideways: {result['wide']}"
    assert result["wide"] == [], f"{name}: wider than the screen: {result['wide']}"
    assert result["controls"] > 0, name
    assert result["small"] == [], f"{name}: targets under {MIN_TARGET} px: {result['small']}"
    box = page.locator(main).first.bounding_box()
    assert box is not None and box["height"] >= MIN_TARGET and box["x"] >= 0, (name, main, box)
    assert box["x"] + box["width"] <= PHONE["width"], (name, main, box)


def test_the_patient_pages_fit_a_phone(app, registry, phone):
    url = app.config["ESIA_BACKCHANNEL_URL"].removesuffix("/esia-dev")
    who = person(STANDARD)

    phone.goto(f"{url}/portal/chats")  # not logged in: the login page
    phone.wait_for_selector("#esia-login")
    fits_the_phone(phone, "login", "#esia-login")
    phone.click("#esia-login")
    phone.wait_for_selector(f'button[data-oid="{STANDARD}"]')
    fits_the_phone(phone, "Госуслуги (development)", f'button[data-oid="{STANDARD}"]')
    phone.click(f'button[data-oid="{STANDARD}"]')
    phone.wait_for_url(f"{url}/portal/chats")

    # «Чат с врачом» with the consent modal over it.
    phone.wait_for_selector("#consent-modal")
    fits_the_phone(phone, "consent modal", "#consent-accept")
    modal = phone.locator("#consent-modal").bounding_box()
    assert modal["x"] >= 0 and modal["x"] + modal["width"] <= PHONE["width"]
    phone.check("#consent-agree")
    phone.click("#consent-accept")
    phone.wait_for_selector("#consent-modal", state="detached")
    fits_the_phone(phone, "chat list", ".main-menu .menu-toggle")  # the menu collapses on a phone

    phone.goto(f"{url}/portal/access")
    phone.wait_for_selector("#consent-accepted")
    fits_the_phone(phone, "Управление доступом", ".main-menu .menu-toggle")

    phone.goto(f"{url}/portal/requests/new")
    phone.wait_for_selector("form.request-form")
    assert phone.input_value("#last_name") == who.last_name  # prefilled, as on a desktop
    fits_the_phone(phone, "request form", "form.request-form button[type=submit]")
    # The form with its error messages (a mistyped policy) still fits.
    phone.fill("#oms_policy", "1234")
    phone.click("form.request-form button[type=submit]")
    phone.wait_for_selector(".field-error")
    fits_the_phone(phone, "request form with errors", "form.request-form button[type=submit]")

    phone.goto(f"{url}/portal/requests")
    fits_the_phone(phone, "my requests", "#new-request")
