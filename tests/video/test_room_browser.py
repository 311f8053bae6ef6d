"""The call window's states in Chromium: a camera switched off shows to the others, the
room fits a phone, a patient left waiting leaves cleanly (SPEC D8, P5)."""

from __future__ import annotations

import os

import sqlalchemy as sa

from core.db import db
from plugins.video.models import VideoCall, VideoParticipant
from tests.video.conftest import make_cast
from tests.video.test_browser import WAIT, media_browser, page_of, shared_browser, wait_frames_growing  # noqa: F401

LAYOUT = """() => {
  const tile = document.querySelector('.vc-tile:not(.self)').getBoundingClientRect();
  const bar = document.querySelector('.vc-toolbar').getBoundingClientRect();
  const leave = document.querySelector('.vc-leave').getBoundingClientRect();
  return {overflow: document.documentElement.scrollWidth - innerWidth, height: innerHeight,
          tileTop: tile.top, tileBottom: tile.bottom, barTop: bar.top, barBottom: bar.bottom, leaveBottom: leave.bottom};
}"""


def test_camera_off_phone_layout_and_a_waiting_patient_leaving(media_browser, server, factory):
    cast = make_cast(factory)
    doctor = page_of(media_browser, server, "staff", cast.doctor_id, f"/chat/{cast.consultation_id}")
    doctor.get_by_role("link", name="Войти в ВКС").click()
    doctor.wait_for_selector(".vc-tile.self", timeout=WAIT)
    patient = page_of(media_browser, server, "patient", cast.account_id, f"/chat/{cast.consultation_id}")
    patient.get_by_role("link", name="Врач ожидает в ВКС — присоединиться").click()
    for page in (doctor, patient):
        page.wait_for_function("() => document.querySelectorAll('.vc-tile').length === 2", timeout=WAIT)
        wait_frames_growing(page)

    # The patient turns the camera off: the doctor's tile of the patient says so, live.
    patient.get_by_role("button", name="Камера включена").click()
    patient.get_by_role("button", name="Камера выключена").wait_for(timeout=WAIT)
    remote = doctor.locator(".vc-tile.camera-off:not(.self)")
    remote.wait_for(timeout=WAIT)
    assert remote.locator(".vc-cam-mark").inner_text() == "камера выключена"
    assert remote.locator(".vc-avatar").is_visible() and remote.locator(".vc-avatar").inner_text()
    assert patient.evaluate("() => window.TeleconsultVideoRoom.local().getVideoTracks().every(t => !t.enabled)")
    shots = os.environ.get("VIDEO_SCREENSHOTS")
    if shots:
        doctor.screenshot(path=f"{shots}/room-camera-off-1366.png")

    # A phone: nothing wider than the screen, the remote video on the first screen, the
    # toolbar at the bottom, where a thumb reaches.
    patient.set_viewport_size({"width": 390, "height": 844})
    patient.get_by_role("button", name="Камера выключена").click()
    doctor.wait_for_selector(".vc-tile:not(.self):not(.camera-off)", timeout=WAIT)
    layout = patient.evaluate(LAYOUT)
    if shots:
        patient.screenshot(path=f"{shots}/room-390.png")
        patient.screenshot(path=f"{shots}/room-390-full.png", full_page=True)
    assert layout["overflow"] <= 0, layout
    assert layout["tileTop"] >= 0 and layout["tileBottom"] <= layout["barTop"], layout  # not under the toolbar
    assert layout["barBottom"] <= layout["height"] + 1 and layout["barTop"] > layout["height"] / 2, layout

    # The doctor leaves; the patient, waiting alone, leaves too: back in the chat, the
    # camera off, out of the room, the call over.
    doctor.click(".vc-leave")
    doctor.wait_for_url(f"**/chat/{cast.consultation_id}", timeout=WAIT)
    patient.get_by_text("Ожидание собеседника…").wait_for(timeout=WAIT)
    patient.click(".vc-leave")
    patient.wait_for_url(f"**/chat/{cast.consultation_id}", timeout=WAIT)
    db.session.expire_all()
    call = db.session.scalar(sa.select(VideoCall).where(VideoCall.consultation_id == cast.consultation_id))
    assert call.status == VideoCall.ENDED
    assert all(p.left_at is not None for p in db.session.scalars(
        sa.select(VideoParticipant).where(VideoParticipant.call_id == call.id)))
