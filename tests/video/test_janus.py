"""Calls through the Janus SFU (SPEC D8, P5): the media-backend hook, ``auto`` past the
threshold, rooms created, guarded, moderated and destroyed at a real Janus on loopback,
and four people in Chromium who see each other through it."""

from __future__ import annotations

import os
from datetime import date

import pytest
import sqlalchemy as sa

from core import lifecycle
from core.access import principal_for_user
from core.db import db
from core.markers import hookimpl
from core.models import CompletionReason, Consultation, Outcome
from plugins.guardian.models import Guardianship
from plugins.video import media
from plugins.video.janus import JanusError, signed_token
from plugins.video.models import VideoCall
from tests.video.conftest import Browser, VideoSocket, add_doctor, live_server_of, make_account, make_cast, wait_for
from tests.video.test_browser import media_browser, shared_browser  # noqa: F401  (fixtures)

WAIT = 180_000  # ms, generous: the machine is shared (four browsers and Janus)

# In one browser the camera is published before the microphone: its audio is then mid "1",
# and a mute that took the first m-line for the microphone would stop her video instead.
VIDEO_FIRST = """(() => {
  let media;
  Object.defineProperty(window, 'TeleconsultMedia', {configurable: true, get: () => media, set: (value) => {
    if (value === media) return;
    media = value;
    value.backends = new Proxy(value.backends, {set(target, key, Backend) {
      if (key === 'janus') {
        const tracks = Backend.prototype.tracks;
        Backend.prototype.tracks = function () { return tracks.call(this).reverse(); };
      }
      target[key] = Backend;
      return true;
    }});
  }});
})();"""


# --------------------------------------------------------------------------- hook, choice


class Recorder(media.MediaBackend):
    name = "recorder"

    def __init__(self):
        self.seen: list[tuple] = []

    def client_config(self, call, participant):
        return {"hello": participant.id}

    def admit(self, call, participant):
        self.seen.append(("admit", participant.id))

    def set_muted(self, call, participant, muted):
        self.seen.append(("muted", participant.id, muted))

    def remove(self, call, participant):
        self.seen.append(("remove", participant.id))

    def close(self, call_id):
        self.seen.append(("close", call_id))


def test_a_plugin_registers_a_media_backend_through_teleconsult_register_media_backend(make_app, factory, sockets):
    recorder = Recorder()

    class Plugin:
        @hookimpl
        def teleconsult_register_media_backend(self):
            return recorder

    app = make_app(config={"VIDEO_MEDIA_BACKEND": "recorder"}, extra_plugins=[("recorder", Plugin())])
    with app.app_context():
        assert set(media.backends()) >= {"p2p", "janus", "recorder"}
    with live_server_of(app) as server:
        cast = make_cast(factory)
        doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
        patient = VideoSocket(Browser(server.url, "patient", cast.account_id))
        sockets += [doctor, patient]
        data = {"consultation_id": cast.consultation_id}
        joined = doctor.call("join", data)
        assert joined["ok"], joined
        assert joined["media"]["backend"] == "recorder" and joined["media"]["hello"] == joined["me"]
        other = patient.call("join", data)["me"]
        assert doctor.call("mute", {**data, "to": other})["ok"]
        assert patient.call("set", {**data, "muted": False})["ok"]
        patient.call("leave", data)
        doctor.call("leave", data)  # the room is empty: the call ends
        call_id = joined["state"]["call"]
        wait_for(lambda: ("close", call_id) in recorder.seen)
    assert recorder.seen[:4] == [("admit", joined["me"]), ("admit", other), ("muted", other, True), ("muted", other, False)]
    assert ("remove", other) in recorder.seen


def test_auto_takes_a_call_of_more_than_the_threshold_to_janus(app, factory):
    cast = make_cast(factory)
    consultation = db.session.get(Consultation, cast.consultation_id)
    app.config["VIDEO_MEDIA_BACKEND"] = "auto"
    assert media.expected_people(consultation) == 2 and media.initial(consultation) == "p2p"
    for _ in range(2):
        add_doctor(factory, cast.consultation_id)
    db.session.refresh(consultation)
    assert media.expected_people(consultation) == 4 and media.initial(consultation) == "janus"
    app.config["VIDEO_SFU_THRESHOLD"] = 4
    assert media.initial(consultation) == "p2p"
    app.config["VIDEO_MEDIA_BACKEND"] = "p2p"
    assert media.initial(consultation) == "p2p"


def test_the_setting_is_checked(app):
    from core.plugins import plugin_manager

    def problems(**settings):
        found = plugin_manager(app).hook.teleconsult_config_check(settings={**app.config, **settings})
        return [p for answer in found for p in answer if "VIDEO_MEDIA_BACKEND" in p]

    assert problems(VIDEO_MEDIA_BACKEND="sfu")
    assert problems(VIDEO_MEDIA_BACKEND="janus", VIDEO_JANUS_SECRET="")
    assert not problems(VIDEO_MEDIA_BACKEND="auto", VIDEO_JANUS_SECRET="s" * 32)


# --------------------------------------------------------------------------- real Janus


def test_rooms_at_a_real_janus_are_created_guarded_moderated_and_destroyed(janus):
    api = janus.client()
    assert api.info()["name"] == "Janus WebRTC Server"
    assert api.create_room(9001, "room-secret", "pin", publishers=6, bitrate=512_000) is True
    assert api.create_room(9001, "room-secret", "pin", publishers=6, bitrate=512_000) is False  # already there
    assert api.exists(9001) and api.allowed(9001, "room-secret") == []
    api.allow(9001, "room-secret", ["token-a", "token-b"])
    assert sorted(api.allowed(9001, "room-secret")) == ["token-a", "token-b"]
    api.allow(9001, "room-secret", ["token-a"], add=False)
    assert api.allowed(9001, "room-secret") == ["token-b"]
    with pytest.raises(JanusError) as wrong:  # the room's secret guards every change
        api.allow(9001, "wrong", ["token-c"])
    assert wrong.value.code == 433
    with pytest.raises(JanusError) as nobody:  # moderate and kick name a publisher of the room
        api.moderate(9001, "room-secret", 77, True, "0")
    assert nobody.value.code == 428
    # Rooms are made only with the videoroom's admin_key, requests only with a signed token.
    stranger = type(api)(janus.http_url, janus.secret, admin_key="")
    with pytest.raises(JanusError):
        stranger.create_room(9002, "s", "p", publishers=2, bitrate=128_000)
    unsigned = type(api)(janus.http_url, token_secret="")
    with pytest.raises(JanusError):
        unsigned.exists(9001)
    expired = signed_token(janus.secret, -10)
    answer = api.http.post(janus.http_url, json={"janus": "create", "transaction": "x", "token": expired}).json()
    assert answer["janus"] == "error"
    assert api.destroy_room(9001, "room-secret") is True
    assert not api.exists(9001) and api.destroy_room(9001, "room-secret") is False


def test_a_janus_call_opens_its_room_admits_the_participants_and_closing_the_consultation_destroys_it(
        make_app, janus, factory, sockets):
    app = make_app(config={"VIDEO_MEDIA_BACKEND": "janus", **janus.settings()})
    api = janus.client()
    with live_server_of(app) as server:
        cast = make_cast(factory)
        doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
        patient = VideoSocket(Browser(server.url, "patient", cast.account_id))
        sockets += [doctor, patient]
        data = {"consultation_id": cast.consultation_id}
        joined = doctor.call("join", data)
        config = joined["media"]
        assert config["backend"] == "janus" and config["server"] == janus.ws_url
        room = config["room"]
        assert room == joined["state"]["call"] and joined["state"]["media"] == "janus"
        assert api.exists(room)
        backend = media.JanusBackend()
        with app.app_context():
            secret = backend.room_secret(room)
            assert config["pin"] == backend.room_pin(room) and config["roomToken"] == backend.room_token(joined["me"])
            observer = backend.observer_token(room)  # the app's own, to read the publishers' streams
        assert sorted(api.allowed(room, secret)) == sorted([observer, config["roomToken"]])
        assert api.publishers(room, config["pin"], observer) == {}  # nobody publishes over sockets alone
        other = patient.call("join", data)
        assert sorted(api.allowed(room, secret)) == sorted([observer, config["roomToken"], other["media"]["roomToken"]])
        assert other["media"]["roomToken"] != config["roomToken"] and other["media"]["pin"] == config["pin"]
        patient.call("leave", data)  # out of the room: the token no longer lets them in
        assert sorted(api.allowed(room, secret)) == sorted([observer, config["roomToken"]])
        with pytest.raises(JanusError) as refused:  # a token the room does not allow reads nothing
            api.publishers(room, config["pin"], other["media"]["roomToken"])
        assert refused.value.code == 433
        with app.app_context():
            consultation = db.session.get(Consultation, cast.consultation_id)
            reason = db.session.scalar(sa.select(CompletionReason).where(CompletionReason.code == "no_show"))
            lifecycle.complete(consultation, Outcome.NO_CONCLUSION, principal_for_user(consultation.consultant),
                               reason=reason)
            db.session.commit()
        wait_for(lambda: not api.exists(room), timeout=30)
        db.session.expire_all()
        assert db.session.get(VideoCall, room).status == "ended"


def test_janus_down_refuses_the_join_in_russian(make_app, factory, sockets):
    from core.testing import free_port

    app = make_app(config={"VIDEO_MEDIA_BACKEND": "janus", "VIDEO_JANUS_SECRET": "s" * 32,
                           "VIDEO_JANUS_URL": f"http://127.0.0.1:{free_port()}/janus"})
    with live_server_of(app) as server:
        cast = make_cast(factory)
        doctor = VideoSocket(Browser(server.url, "staff", cast.doctor_id))
        sockets.append(doctor)
        answer = doctor.call("join", {"consultation_id": cast.consultation_id})
        assert not answer["ok"] and answer["status"] == 503 and "Медиасервер" in answer["error"], answer


# --------------------------------------------------------------------------- Chromium


def _family(factory):
    """A consilium for a child: the doctor, a second doctor, the child (a teenager with a
    portal account of their own) and the mother, the legal representative."""
    organisation = factory.organisation()
    doctor = factory.doctor(organisation=organisation, specialty="педиатр")
    mother = factory.patient(organisation=organisation, last_name="Морозова", first_name="Елена")
    mother_account = make_account(factory, mother)
    child = factory.patient(organisation=organisation, last_name="Морозов", first_name="Тимофей",
                            birth_date=date(date.today().year - 14, 3, 4))
    child_account = make_account(factory, child)
    factory.commit(Guardianship(representative_id=mother.id, child_id=child.id, basis=Guardianship.ESIA, source="esia"))
    consultation = factory.consultation(author=doctor, patient=child, representative_id=mother.id,
                                        type_code="remote_representative")
    second = add_doctor(factory, consultation.id)
    return consultation.id, [("staff", doctor.id), ("staff", second.id), ("patient", child_account.id),
                             ("patient", mother_account.id)]


def test_four_people_in_a_janus_room_see_each_other_and_the_hosts_mute_silences_at_the_sfu(
        make_app, janus, factory, media_browser):
    # A socket dropped on a loaded machine keeps its place (and its Janus feed) meanwhile.
    app = make_app(config={"VIDEO_MEDIA_BACKEND": "auto", "VIDEO_SFU_THRESHOLD": 3, "VIDEO_RECONNECT_SECONDS": 120.0,
                           **janus.settings()})
    with live_server_of(app) as server:
        consultation_id, people = _family(factory)
        pages = []
        for kind, person in people:
            context = media_browser.new_context(viewport={"width": 1366, "height": 768})
            if len(pages) == 3:  # the mother
                context.add_init_script(VIDEO_FIRST)
            context.set_default_timeout(WAIT)
            context.set_default_navigation_timeout(WAIT)
            page = context.new_page()
            page.goto(f"{server.url}/_test/login/{kind}/{person}")
            page.goto(f"{server.url}/video/{consultation_id}")
            page.wait_for_selector(".vc-tile.self", timeout=WAIT)
            pages.append(page)
        for page in pages:  # each sees the three others' video, decoded through Janus
            page.wait_for_function("() => document.querySelectorAll('.vc-tile').length === 4", timeout=WAIT)
            page.wait_for_function("() => window.TeleconsultVideoRoom.backend().kind === 'janus'", timeout=WAIT)
            page.wait_for_function(
                "() => ((window.TeleconsultVideoRoom.lastStats || {}).peers || []).filter(p => p.framesDecoded > 0).length === 3",
                timeout=WAIT)
            first = page.evaluate("() => window.TeleconsultVideoRoom.lastStats.peers.map(p => [p.id, p.framesDecoded])")
            page.wait_for_function(
                "(first) => first.every(([id, n]) => window.TeleconsultVideoRoom.lastStats.peers.some(p => p.id === id && p.framesDecoded > n))",
                arg=first, timeout=WAIT)
        shots = os.environ.get("VIDEO_SCREENSHOTS")
        if shots:
            pages[0].screenshot(path=f"{shots}/janus-4-1366.png")
            pages[0].set_viewport_size({"width": 390, "height": 844})
            pages[0].screenshot(path=f"{shots}/janus-4-390.png", full_page=True)
            pages[0].set_viewport_size({"width": 1366, "height": 768})
        doctor, _second, child, mother = pages
        call = db.session.scalar(sa.select(VideoCall).where(VideoCall.consultation_id == consultation_id))
        assert call.media == "janus"
        mother_id = mother.evaluate("() => window.TeleconsultVideoRoom.me()")
        api, backend = janus.client(), media.JanusBackend()
        with app.app_context():
            pin, observer = backend.room_pin(call.id), backend.observer_token(call.id)

        def streams_of_mother() -> dict[str, dict]:
            return {s["type"]: s for s in api.publishers(call.id, pin, observer)[mother_id]}

        before = streams_of_mother()
        assert before["video"]["mid"] == "0" and before["audio"]["mid"] == "1"  # her camera came first
        assert not before["audio"].get("moderated") and not before["video"].get("moderated")
        # The host mutes the mother: Janus announces the moderation and stops forwarding her audio.
        doctor.locator(f".vc-person[data-participant='{mother_id}'] .vc-mute-other").click(timeout=WAIT)
        for page in (doctor, child):
            page.wait_for_function(f"() => window.TeleconsultVideoRoom.backend().moderation[{mother_id}] === 'muted'",
                                   timeout=WAIT)
        muted = streams_of_mother()
        assert muted["audio"].get("moderated") is True and not muted["video"].get("moderated")
        child.wait_for_function(
            f"""() => {{
                const room = window.TeleconsultVideoRoom, peer = (room.lastStats.peers || []).find(p => p.id === {mother_id});
                if (!peer) return false;
                const seen = room._audioSeen = room._audioSeen || [];
                seen.push(peer.audioPackets);
                return seen.length > 3 && seen[seen.length - 1] === seen[seen.length - 4];
            }}""", timeout=WAIT, polling=1000)
        # Silenced, not blinded: the child still decodes her video.
        her = f"window.TeleconsultVideoRoom.lastStats.peers.find(p => p.id === {mother_id})"
        frames = child.evaluate(f"() => {her}.framesDecoded")
        child.wait_for_function(f"(n) => {her}.framesDecoded > n", arg=frames, timeout=WAIT)
        # Her own audio keeps flowing again once she unmutes herself.
        mother.get_by_role("button", name="Микрофон выключен").click(timeout=WAIT)
        mother.get_by_role("button", name="Микрофон включён").wait_for(timeout=WAIT)
        wait_for(lambda: not streams_of_mother()["audio"].get("moderated"), timeout=WAIT / 1000, step=1.0)
        child.wait_for_function(f"() => window.TeleconsultVideoRoom.backend().moderation[{mother_id}] === 'unmuted'",
                                timeout=WAIT)
        assert not streams_of_mother()["audio"].get("moderated")
        packets = child.evaluate(f"() => {her}.audioPackets")
        child.wait_for_function(f"(n) => {her}.audioPackets > n", arg=packets, timeout=WAIT)
