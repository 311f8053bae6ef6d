"""How many 640×480 participants before the frame rate drops below 15 fps: the Janus SFU
beside the peer-to-peer mesh, on this machine.

    .venv/bin/python bench/janus_bench.py [--max 8] [--settle 8] [--measure 8] [--budget 900]

First the ceiling: one fake camera, one sender, one receiver in the page, no server, so
that what the browser itself can encode and decode on this machine is beside the rest.
Then for N = 2, 3, … (up to ``--max``) each participant takes Debian's Chromium fake camera
(640×480 at ``--camera-fps``, 30 by default) and microphone, all in one page (one renderer:
the machine's CPU encodes and decodes every stream in both cases):

- **janus**: a Janus of its own on loopback (``plugins.video.janus.LocalJanus``, the
  configuration the tests generate), a videoroom made through the server's API exactly as
  the app makes it; each participant publishes once through Meetecho's ``janus-gateway``
  client and subscribes to the N−1 others (N publishers, N·(N−1) subscriptions);
- **mesh**: every pair has a peer connection sending both ways (each participant
  encodes N−1 times, as ``static/video/mesh.js`` does).

After ``--settle`` seconds each received video stream's frames decoded are counted over
``--measure`` seconds. A row gives the mean over the streams, the mean of the participant
worst off (what one subscriber sees on average), the slowest stream, the mean height of
the frames received (the sender lowers the resolution before the frame rate when the CPU
is short) and the load average. A backend stops growing at the first N whose worst
subscriber falls below 15 fps, or when the time budget runs out; the summary names that
N per backend. A script, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
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
const gum = () => navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 480, frameRate: 30}});
const pcs = [];  // {pc, who}: who is the participant that receives on this connection
window.bench = {pcs};
function sink(stream) { const v = document.createElement('video'); v.muted = true; v.autoplay = true; v.srcObject = stream; document.body.appendChild(v); }

async function connect(pa, pb) {
  pa.onicecandidate = e => e.candidate && pb.addIceCandidate(e.candidate);
  pb.onicecandidate = e => e.candidate && pa.addIceCandidate(e.candidate);
  const offer = await pa.createOffer(); await pa.setLocalDescription(offer); await pb.setRemoteDescription(offer);
  const answer = await pb.createAnswer(); await pb.setLocalDescription(answer); await pa.setRemoteDescription(answer);
}

// The ceiling: one camera, one sender, one receiver, nothing else in the page.
window.pair = async () => {
  const stream = await gum();
  const pa = new RTCPeerConnection(), pb = new RTCPeerConnection();
  pb.ontrack = e => e.track.kind === 'video' && sink(e.streams[0]);
  stream.getTracks().forEach(t => pa.addTrack(t, stream));
  await connect(pa, pb);
  pcs.push({pc: pb, who: 1});
};

window.mesh = async (n) => {
  const streams = [];
  for (let i = 0; i < n; i++) streams.push(await gum());
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) {
    const pa = new RTCPeerConnection(), pb = new RTCPeerConnection();
    pa.ontrack = e => e.track.kind === 'video' && sink(e.streams[0]);
    pb.ontrack = e => e.track.kind === 'video' && sink(e.streams[0]);
    streams[a].getTracks().forEach(t => pa.addTrack(t, streams[a]));
    streams[b].getTracks().forEach(t => pb.addTrack(t, streams[b]));
    await connect(pa, pb);
    pcs.push({pc: pa, who: a + 1}, {pc: pb, who: b + 1});
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
      webrtcState: up => { if (up) pcs.push({pc: sub.webrtcStuff.pc, who: me}); }
    });
    sub.send({message: {request: 'join', ptype: 'subscriber', streams: [{feed}], ...base}});
  }
};

// Every received video stream now: who receives it, frames decoded so far, its height.
window.frames = async () => {
  const out = [];
  for (const [i, {pc, who}] of pcs.entries()) {
    const report = await pc.getStats();
    report.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video')
      out.push({key: i + ':' + s.id, who, frames: s.framesDecoded || 0, height: s.frameHeight || 0}); });
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


@dataclass
class Row:
    backend: str
    n: int
    streams: int = 0
    expected: int = 0
    stream_low: float = 0.0  # the slowest single stream received
    subscriber_low: float = 0.0  # the participant worst off: the mean of what they receive
    mean: float = 0.0  # over every stream received
    height: float = 0.0  # the mean height of the frames received (640×480 sent)
    load: float = 0.0  # the 1-minute load average at the end of the measurement
    note: str = ""


def measure(page, row: Row, settle: float, seconds: float) -> Row:
    """Frames decoded per second of each received video stream over ``seconds``, after
    ``settle``: (frames at the end − frames at the start) / elapsed, so a stream that
    stalls counts as it is; one that never arrived counts as 0 fps."""
    time.sleep(settle)
    first, t0 = {s["key"]: s for s in page.evaluate("() => window.frames()")}, time.monotonic()
    time.sleep(seconds)
    last, t1 = page.evaluate("() => window.frames()"), time.monotonic()
    per_stream: list[tuple[int, float]] = []
    heights = []
    for s in last:
        before = first.get(s["key"], {"frames": 0})["frames"]
        per_stream.append((s["who"], (s["frames"] - before) / (t1 - t0)))
        heights.append(s["height"])
    row.streams = len(per_stream)
    rates = [fps for _who, fps in per_stream] + [0.0] * max(0, row.expected - row.streams)
    by_who: dict[int, list[float]] = {}
    for who, fps in per_stream:
        by_who.setdefault(who, []).append(fps)
    receivers = row.n if row.backend != "pair" else 1
    per_subscriber = [statistics.mean(by_who[w]) if w in by_who else 0.0 for w in range(1, receivers + 1)]
    row.stream_low, row.mean = min(rates), statistics.mean(rates)
    row.subscriber_low = min(per_subscriber)
    row.height = statistics.mean(heights) if heights else 0.0
    row.load = os.getloadavg()[0]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=8)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument("--measure", type=float, default=8.0)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--camera-fps", type=int, default=30, help="the fake camera's frame rate")
    parser.add_argument("--node-modules", default=str(ROOT / "node_modules"))
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from core.testing import free_port
    from plugins.video.janus import LocalJanus, derived, signed_token

    node_modules = Path(args.node_modules)
    started = time.monotonic()
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} cores, fake camera 640×480 at {args.camera_fps} fps", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        (site / "index.html").write_text(PAGE)
        (site / "adapter.js").symlink_to(node_modules / "webrtc-adapter" / "out" / "adapter.js")
        (site / "janus.es.js").symlink_to(node_modules / "janus-gateway" / "npm" / "dist" / "janus.es.js")
        http_server, url = serve(site)
        janus = LocalJanus(Path(tmp) / "janus", free_port(), free_port()).start()
        api = janus.client()
        rows: list[Row] = []
        try:
            with sync_playwright() as playwright:
                camera = [f"--use-fake-device-for-media-stream=fps={args.camera_fps}"]
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=camera + ARGS[1:])
                plan = [("pair", [2])] + [(b, list(range(2, args.max + 1))) for b in ("janus", "mesh")]
                for backend, counts in plan:
                    for n in counts:
                        if time.monotonic() - started > args.budget:
                            rows.append(Row(backend, n, note="time budget over"))
                            break
                        expected = 1 if backend == "pair" else n * (n - 1)
                        row = Row(backend, n, expected=expected)
                        context = browser.new_context()
                        page = context.new_page()
                        page.goto(url + "/index.html")
                        page.wait_for_function("() => window.frames && window.mesh && window.janus && window.pair")
                        if backend == "janus":
                            room, secret, pin = 5000 + n, derived(janus.secret, "s", n), derived(janus.secret, "p", n)
                            api.create_room(room, secret, pin, publishers=n + 1, bitrate=768_000)
                            token = derived(janus.secret, "t", n)
                            api.allow(room, secret, [token])
                            page.evaluate("([n, c]) => window.janus(n, c)",
                                          [n, {"server": janus.ws_url, "token": signed_token(janus.secret, 3600),
                                               "room": room, "pin": pin, "roomToken": token}])
                        elif backend == "mesh":
                            page.evaluate("(n) => window.mesh(n)", n)
                        else:
                            page.evaluate("() => window.pair()")
                        measure(page, row, args.settle, args.measure)
                        context.close()
                        if backend == "janus":
                            api.destroy_room(room, secret)
                        rows.append(row)
                        print(f"{backend:5} N={n}: {row.streams}/{row.expected} streams, mean {row.mean:5.1f} fps, "
                              f"worst subscriber {row.subscriber_low:5.1f}, slowest stream {row.stream_low:5.1f}, "
                              f"{row.height:.0f} px high, load {row.load:.2f}", flush=True)
                        if row.subscriber_low < FLOOR:
                            break
                browser.close()
        finally:
            janus.stop()
            http_server.shutdown()
    print()
    print("| backend | participants | streams received | mean fps | worst subscriber's mean fps "
          "| slowest stream fps | frame height | load average (1 min) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row.note:
            print(f"| {row.backend} | {row.n} | {row.note} | | | | | |")
        else:
            print(f"| {row.backend} | {row.n} | {row.streams}/{row.expected} | {row.mean:.1f} | "
                  f"{row.subscriber_low:.1f} | {row.stream_low:.1f} | {row.height:.0f} | {row.load:.2f} |")
    print()
    for backend in ("pair", "janus", "mesh"):
        measured = [r for r in rows if r.backend == backend and not r.note]
        below = next((r.n for r in measured if r.subscriber_low < FLOOR), None)
        if backend == "pair":
            if measured:
                print(f"ceiling (one sender → one receiver, no server): {measured[0].mean:.1f} fps")
        elif below is not None:
            print(f"{backend}: first below {FLOOR:g} fps at {below} participants")
        else:
            top = max((r.n for r in measured), default=None)
            print(f"{backend}: not below {FLOOR:g} fps up to {top} participants (the run stopped there)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
