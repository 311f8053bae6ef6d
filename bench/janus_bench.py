"""How many 640×480 participants before the frame rate drops below 15 fps: the Janus SFU
beside the peer-to-peer mesh, on this machine.

    .venv/bin/python bench/janus_bench.py [--max 8] [--settle 8] [--measure 8] [--budget 900]

For N = 2, 3, … each participant takes Debian's Chromium fake camera at 640×480 and
microphone, in one page (one renderer: the machine's CPU is the limit in both cases):

- **janus**: a Janus of its own on loopback (``plugins.video.janus.LocalJanus``, the
  configuration the tests generate), a videoroom made through the server's API exactly as
  the app makes it; each participant publishes once through Meetecho's ``janus-gateway``
  client and subscribes to the N−1 others (N publishers, N·(N−1) subscriptions);
- **mesh**: every pair has a peer connection sending both ways (each participant
  encodes N−1 times, as ``static/video/mesh.js`` does).

After ``--settle`` seconds the received video's ``framesPerSecond`` (inbound-rtp) is
sampled for ``--measure`` seconds; the row shows the lowest and the mean over all the
streams received. A backend stops growing once its lowest falls below 15 fps or the time
budget runs out. A script, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection", "--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
FLOOR = 15.0

PAGE = """<!doctype html><meta charset="utf-8"><title>bench</title>
<script src="/adapter.js"></script>
<script type="module">
import Janus from '/janus.es.js';
const gum = () => navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480}});
const pcs = [];
window.bench = {pcs};
function sink(stream) { const v = document.createElement('video'); v.muted = true; v.autoplay = true; v.srcObject = stream; document.body.appendChild(v); }

window.mesh = async (n) => {
  const streams = [];
  for (let i = 0; i < n; i++) streams.push(await gum());
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
    const pa = new RTCPeerConnection(), pb = new RTCPeerConnection();
    pa.onicecandidate = e => e.candidate && pb.addIceCandidate(e.candidate);
    pb.onicecandidate = e => e.candidate && pa.addIceCandidate(e.candidate);
    pa.ontrack = e => e.track.kind === 'video' && sink(e.streams[0]);
    pb.ontrack = e => e.track.kind === 'video' && sink(e.streams[0]);
    streams[a].getTracks().forEach(t => pa.addTrack(t, streams[a]));
    streams[b].getTracks().forEach(t => pb.addTrack(t, streams[b]));
    const offer = await pa.createOffer(); await pa.setLocalDescription(offer); await pb.setRemoteDescription(offer);
    const answer = await pb.createAnswer(); await pb.setLocalDescription(answer); await pa.setRemoteDescription(answer);
    pcs.push(pa, pb);
  }
};

window.janus = async (n, config) => {
  await new Promise(r => Janus.init({debug: false, dependencies: Janus.useDefaultDependencies({adapter}), callback: r}));
  const session = await new Promise((ok, fail) => { const s = new Janus({server: config.server, token: config.token, iceServers: [], success: () => ok(s), error: fail}); });
  const attach = (handlers) => new Promise((ok, fail) => session.attach({plugin: 'janus.plugin.videoroom', success: ok, error: fail, ...handlers}));
  const base = {room: config.room, pin: config.pin, token: config.roomToken};
  const up = [];
  for (let i = 1; i <= n; i++) {
    const stream = await gum();
    let handle, ready;
    up.push(new Promise(r => { ready = r; }));
    handle = await attach({webrtcState: on => { if (on) ready(); }, onmessage: (msg, jsep) => {
      if (jsep) handle.handleRemoteJsep({jsep});
      if (msg.videoroom === 'joined') handle.createOffer({tracks: [{type: 'audio', capture: stream.getAudioTracks()[0], recv: false}, {type: 'video', capture: stream.getVideoTracks()[0], recv: false}],
        success: j => handle.send({message: {request: 'configure', audio: true, video: true}, jsep: j})});
    }});
    handle.send({message: {request: 'join', ptype: 'publisher', id: i, ...base}});
  }
  await Promise.all(up);  // subscribe once every publisher's PeerConnection is up
  for (let me = 1; me <= n; me++) for (let feed = 1; feed <= n; feed++) {
    if (feed === me) continue;
    let sub;
    sub = await attach({
      onmessage: (msg, jsep) => { if (jsep) sub.createAnswer({jsep, tracks: [{type: 'data'}], success: a => sub.send({message: {request: 'start', room: config.room}, jsep: a})}); },
      onremotetrack: (track, mid, on) => { if (on && track.kind === 'video') sink(new MediaStream([track])); },
      webrtcState: up => { if (up) pcs.push(sub.webrtcStuff.pc); }
    });
    sub.send({message: {request: 'join', ptype: 'subscriber', streams: [{feed}], ...base}});
  }
};

window.fps = async () => {
  const out = [];
  for (const pc of pcs) {
    const report = await pc.getStats();
    report.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video') out.push(s.framesPerSecond || 0); });
  }
  return out;
};
</script><body></body>"""


class Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Files, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def measure(page, n: int, settle: float, seconds: float) -> tuple[float, float, int]:
    time.sleep(settle)
    samples: list[float] = []
    streams = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        found = page.evaluate("() => window.fps()")
        streams = max(streams, len(found))
        samples.extend(found)
        time.sleep(1.0)
    expected = n * (n - 1)
    if streams < expected:  # a stream that never arrived counts as 0 fps
        samples.extend([0.0] * (expected - streams))
    return (min(samples) if samples else 0.0), (statistics.mean(samples) if samples else 0.0), streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=8)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--measure", type=float, default=8.0)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--node-modules", default=str(ROOT / "node_modules"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from core.testing import free_port
    from plugins.video.janus import LocalJanus, derived, signed_token

    node_modules = Path(args.node_modules)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        (site / "index.html").write_text(PAGE)
        (site / "adapter.js").symlink_to(node_modules / "webrtc-adapter" / "out" / "adapter.js")
        (site / "janus.es.js").symlink_to(node_modules / "janus-gateway" / "npm" / "dist" / "janus.es.js")
        http_server, url = serve(site)
        janus = LocalJanus(Path(tmp) / "janus", free_port(), free_port()).start()
        api = janus.client()
        rows = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for backend in ("janus", "mesh"):
                    for n in range(2, args.max + 1):
                        if time.monotonic() - started > args.budget:
                            rows.append((backend, n, None, None, 0, "time budget over"))
                            break
                        context = browser.new_context()
                        page = context.new_page()
                        page.goto(url + "/index.html")
                        page.wait_for_function("() => window.fps && window.mesh && window.janus")
                        if backend == "janus":
                            room, secret, pin = 5000 + n, derived(janus.secret, "s", n), derived(janus.secret, "p", n)
                            api.create_room(room, secret, pin, publishers=n + 1, bitrate=768_000)
                            token = derived(janus.secret, "t", n)
                            api.allow(room, secret, [token])
                            page.evaluate("([n, c]) => window.janus(n, c)",
                                          [n, {"server": janus.ws_url, "token": signed_token(janus.secret, 3600),
                                               "room": room, "pin": pin, "roomToken": token}])
                        else:
                            page.evaluate("(n) => window.mesh(n)", n)
                        low, mean, streams = measure(page, n, args.settle, args.measure)
                        context.close()
                        if backend == "janus":
                            api.destroy_room(room, secret)
                        rows.append((backend, n, low, mean, streams, ""))
                        print(f"{backend:5} N={n}: lowest {low:5.1f} fps, mean {mean:5.1f} fps, "
                              f"{streams}/{n * (n - 1)} streams", flush=True)
                        if low < FLOOR:
                            break
                browser.close()
        finally:
            janus.stop()
            http_server.shutdown()
    print()
    print("| backend | participants | streams received | lowest fps | mean fps |")
    print("| --- | --- | --- | --- | --- |")
    for backend, n, low, mean, streams, note in rows:
        if low is None:
            print(f"| {backend} | {n} | — | {note} | |")
        else:
            print(f"| {backend} | {n} | {streams}/{n * (n - 1)} | {low:.1f} | {mean:.1f} |")
    for backend in ("janus", "mesh"):
        ok = [n for b, n, low, _m, _s, _note in rows if b == backend and low is not None and low >= FLOOR]
        print(f"{backend}: {max(ok) if ok else 'fewer than 2'} participants at ≥ {FLOOR:g} fps")


if __name__ == "__main__":
    main()
