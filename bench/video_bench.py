"""Video call set-up time: accept → first decoded remote frame, beside a bare page.

    .venv/bin/python bench/video_bench.py [--rounds 5] [--modes direct,relay]

The app runs in-process on a temporary SQLite database (threading mode, as the browser
tests run it) and Debian's Chromium (/usr/bin/chromium) with a fake camera and
microphone. For each mode:

- **app**: the doctor opens the consultation's chat and presses «Видеозвонок»; once the
  patient's popup shows and the doctor's call window has its camera, the clock starts and
  the patient presses «Принять». The call window (made ready in the patient's page while
  the call rang) takes the page's place, takes the camera, joins over the popup's
  ``/video`` socket and negotiates with the doctor through the server. The time is taken
  when *both* sides' peer connections report a decoded remote video frame
  (``getStats()``, inbound-rtp ``framesDecoded > 0``, polled every 20 ms by the
  bench in each page; the pages' own 2 s quality timer is not used).
- **bare**: one page, no app, no server in between: it takes the same fake camera, makes
  two ``RTCPeerConnection``s with the same ICE servers and transport policy, sends video
  both ways, hands offer, answer and candidates across directly, and is timed from
  before ``getUserMedia`` to a decoded frame on both connections.

``relay`` runs Debian's coturn (/usr/bin/turnserver) on loopback with
deploy/coturn/turnserver-test.conf and a fresh TURN REST secret, and forces
``iceTransportPolicy: 'relay'`` in both. Targets: app ≤ 3 s direct, ≤ 8 s relayed, and
within 1.5× of the bare page. A script, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection", "--no-sandbox"]
TARGETS = {"direct": 3.0, "relay": 8.0}
WAIT = 60_000

# Every peer connection a page makes is kept, and a 20 ms poll of their stats notes the
# wall-clock time (Date.now(), comparable across pages) of the first decoded remote frame.
PROBE = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  const pcs = [];
  window.__benchFirstFrame = null;
  window.RTCPeerConnection = function (...args) { const pc = new Native(...args); pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Native.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Native);
  async function decoded(pc) {
    if (pc.connectionState === 'closed') return false;
    const report = await pc.getStats();
    let frames = 0;
    report.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0; });
    return frames > 0;
  }
  const timer = setInterval(async () => {
    if (!pcs.length || window.__benchFirstFrame) return;
    const all = await Promise.all(pcs.map(decoded));
    // The bare page holds both ends: both must decode; a call window holds one end.
    if (all.every(Boolean)) { window.__benchFirstFrame = Date.now(); clearInterval(timer); }
  }, 20);
})();
"""

# With --trace: where the time goes in the call windows (Date.now() of each step).
TRACE = """
(() => {
  const t = window.__benchTrace = [];
  const note = (what) => t.push([what, Date.now()]);
  note('script');
  addEventListener('load', () => { const n = performance.getEntriesByType('navigation')[0]; if (!n) return;
    const at = ms => Math.round(performance.timeOrigin + ms);
    t.push(['request sent', at(n.requestStart)], ['response starts', at(n.responseStart)], ['response ends', at(n.responseEnd)]);
    performance.getEntriesByType('resource').forEach(r => { if (/\.(js|css)/.test(r.name))
      t.push(['fetched ' + r.name.split('/').pop() + (r.transferSize ? ' (' + r.transferSize + ' B over the network)' : ' (cache)'), at(r.responseEnd)]); });
    t.sort((x, y) => x[1] - y[1]); });
  document.addEventListener('DOMContentLoaded', () => note('DOMContentLoaded'));
  const md = navigator.mediaDevices;
  if (md) { const gum = md.getUserMedia.bind(md);
    md.getUserMedia = c => { note('getUserMedia'); return gum(c).then(s => { note('getUserMedia done'); return s; }); }; }
  const Native = window.RTCPeerConnection;
  ['setLocalDescription', 'setRemoteDescription', 'addIceCandidate', 'createOffer', 'createAnswer'].forEach(name => {
    const f = Native.prototype[name];
    Native.prototype[name] = function (...a) {
      const d = a[0] && a[0].type ? ' ' + a[0].type : '';
      if (name !== 'addIceCandidate' || !this.__cand) { note(name + d); if (name === 'addIceCandidate') this.__cand = 1; }
      return f.apply(this, a).then(r => { if (name !== 'addIceCandidate') note(name + d + ' done'); return r; });
    };
  });
  const add = Native.prototype.addEventListener;
  let io_;
  Object.defineProperty(window, 'io', {configurable: true, get: () => io_, set: v => {
    io_ = function (...a) {
      note('io()');
      const socket = v(...a);
      socket.on('connect', () => note('socket connect'));
      const emit = socket.emit.bind(socket);
      socket.emit = (ev, data, cb) => { const n = ev === 'signal' ? 'signal ' + Object.keys(data.data || {}).join(',') : ev;
        if (ev === 'stats') return emit(ev, data, cb);
        note('emit ' + n); return emit(ev, data, (...r) => { note('ack ' + n); cb(...r); }); };
      socket.onAny && socket.onAny(ev => { if (ev === 'signal' || ev === 'state') note('got ' + ev); });
      return socket;
    };
    Object.assign(io_, v);
  }});
  window.RTCPeerConnection = new Proxy(window.RTCPeerConnection, {construct(T, a) {
    note('new RTCPeerConnection'); const pc = new T(...a);
    pc.addEventListener('iceconnectionstatechange', () => note('ice ' + pc.iceConnectionState));
    pc.addEventListener('icegatheringstatechange', () => note('gathering ' + pc.iceGatheringState));
    pc.addEventListener('track', () => note('track'));
    return pc; }});
})();
"""

BARE = """<!doctype html><meta charset="utf-8"><title>bare</title><script>
window.bare = async function (config) {
  const started = Date.now();
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
  const a = new RTCPeerConnection(config), b = new RTCPeerConnection(config);
  a.onicecandidate = e => { if (e.candidate) b.addIceCandidate(e.candidate); };
  b.onicecandidate = e => { if (e.candidate) a.addIceCandidate(e.candidate); };
  stream.getTracks().forEach(t => { a.addTrack(t, stream); b.addTrack(t.clone(), stream); });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  return started;
};
</script>"""


def start_coturn(folder: Path) -> tuple[subprocess.Popen, int, str]:
    from core.testing import free_port

    port, secret = free_port(), secrets.token_hex(16)
    process = subprocess.Popen(
        ["/usr/bin/turnserver", "-c", str(ROOT / "deploy" / "coturn" / "turnserver-test.conf"),
         "--listening-port", str(port), "--static-auth-secret", secret, "--log-file", str(folder / "turn.log"),
         "--pidfile", str(folder / "turn.pid"), "--userdb", str(folder / "turndb")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port, secret
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("coturn did not start") from None
            time.sleep(0.1)


def build_app(folder: Path, turn: tuple[int, str] | None):
    from core.app import create_app
    from core.db import db
    from core.dictionaries import sync_reference_data
    from core.testing import enable_test_login

    settings = {"DATA_DIR": str(folder / "data"), "DATABASE_URL": f"sqlite:///{folder}/video.sqlite3",
                "SERVER_NAME": None}
    if turn is not None:
        port, secret = turn
        settings.update({"VIDEO_TURN_URLS": [f"turn:127.0.0.1:{port}?transport=udp"], "VIDEO_TURN_SECRET": secret,
                         "VIDEO_ICE_TRANSPORT_POLICY": "relay"})
    app = create_app(settings, environment="testing")
    with app.app_context():
        db.create_all()
        sync_reference_data()
        db.session.commit()
    enable_test_login(app)
    return app


def app_round(browser, app, server, trace: bool = False) -> float:
    from core.testing import Factory
    from tests.chat.conftest import make_cast

    with app.app_context():
        cast = make_cast(Factory(app))
    contexts = []
    try:
        pages = {}
        for who, kind, person in (("patient", "patient", cast.account_id), ("doctor", "staff", cast.doctor_id)):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_init_script(PROBE)
            if trace:
                context.add_init_script(TRACE)
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{server.url}/_test/login/{kind}/{person}")
            page.goto(f"{server.url}/chat/{cast.consultation_id}")
            pages[who] = page
        pages["doctor"].get_by_role("link", name="Видеозвонок").click()
        popup = pages["patient"].get_by_role("alertdialog")
        popup.wait_for(timeout=WAIT)
        pages["doctor"].wait_for_function("() => window.TeleconsultVideoRoom && window.TeleconsultVideoRoom.local()",
                                          timeout=WAIT)
        started = time.time() * 1000
        popup.get_by_role("link", name="Принять").click()
        ends = [page.wait_for_function("() => window.__benchFirstFrame", timeout=WAIT).json_value()
                for page in pages.values()]
        if trace:
            for who, page in pages.items():
                print(f"-- {who} (ms after «Принять»)")
                for what, at in page.evaluate("() => window.__benchTrace || []"):
                    if at >= started - 50:
                        print(f"{at - started:8.0f}  {what}")
                print(f"{page.evaluate('() => window.__benchFirstFrame') - started:8.0f}  first decoded frame")
        return (max(ends) - started) / 1000
    finally:
        for context in contexts:
            context.close()


def bare_round(browser, server, ice: dict) -> float:
    context = browser.new_context()
    try:
        context.add_init_script(PROBE)
        context.route("**/__bench_bare", lambda route: route.fulfill(body=BARE, content_type="text/html"))
        page = context.new_page()
        page.goto(f"{server.url}/__bench_bare")
        started = page.evaluate("config => window.bare(config)", ice)
        end = page.wait_for_function("() => window.__benchFirstFrame", timeout=WAIT).json_value()
        return (end - started) / 1000
    finally:
        context.close()


def ice_config(app) -> dict:
    from plugins.video import turn

    with app.test_request_context():
        media = turn.client_config(0)
    return {"iceServers": media.get("iceServers", []), "iceTransportPolicy": media.get("iceTransportPolicy", "all")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default="direct,relay")
    parser.add_argument("--trace", action="store_true", help="print where the time goes in one call first")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from core.testing import CHROMIUM, CHROMIUM_ARGS, LiveServer
    from plugins.video import connections

    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS])
        for mode in args.modes.split(","):
            folder = Path(tmp) / mode
            folder.mkdir()
            coturn = start_coturn(folder) if mode == "relay" else None
            try:
                app = build_app(folder, coturn[1:] if coturn else None)
                server = LiveServer(app).start()
                ice = ice_config(app)
                app_round(browser, app, server)  # warm-up: templates, catalogues, the browser's caches
                if args.trace:
                    app_round(browser, app, server, trace=True)
                bare_round(browser, server, ice)
                apps, bares = [], []
                for _ in range(args.rounds):  # interleaved, so a busy moment hits both
                    apps.append(app_round(browser, app, server))
                    bares.append(bare_round(browser, server, ice))
                server.stop()
                connections.stop(app)
            finally:
                if coturn:
                    coturn[0].terminate()
                    coturn[0].wait(10)
            rows.append((mode, apps, bares))
        browser.close()

    print(f"video call set-up, accept → first decoded remote frame on both sides, {args.rounds} rounds (s);"
          f" load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} CPUs")
    print(f"{'mode':<8} {'app p50':>8} {'app max':>8} {'bare p50':>9} {'bare max':>9} {'app/bare':>9} {'target':>8}")
    for mode, apps, bares in rows:
        a50, b50 = statistics.median(apps), statistics.median(bares)
        print(f"{mode:<8} {a50:>8.2f} {max(apps):>8.2f} {b50:>9.2f} {max(bares):>9.2f} {a50 / b50:>9.2f}"
              f" {'≤ ' + str(TARGETS.get(mode, '')):>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
