"""The server peer of the echo test of «Проверка связи» (SPEC P5): a patient sees and
hears themselves as the server receives them.

A small asyncio program of its own (``python -m plugins.video.echo``, or ``teleconsult
video-echo`` with the app's settings), never inside the web process: aiortc is asyncio
media and must not run in an eventlet- or gevent-patched process (``core.green``). It
listens on loopback HTTP (aiohttp, as aiortc's own ``examples/server`` does); only the
web app talks to it, which checks the user, the CSRF token and the rate before it
forwards the browser's offer (``plugins/video/echoclient.py``).

``POST /offer`` takes ``{"sdp", "type": "offer", "ice_servers": [{"urls", "username",
"credential"}]}`` (the ICE servers, with short-lived TURN credentials, come from the web
app, so the echo uses the deployment's TURN as a call does) and answers ``{"sdp",
"type": "answer", "seconds"}``: every audio and video track received is sent straight
back. Each peer connection is closed after ``seconds``; at most ``max_sessions`` run at
once (VP8 encoding costs about a third of a core per echo), more answer 503 ``busy``.
A bad offer answers 400 ``bad_offer``. ``GET /health`` tells how many sessions run.
Nothing received is stored.

This module imports nothing of the app: it must start in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from aiohttp import web
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

log = logging.getLogger("teleconsult.video.echo")

MAX_BODY = 64 * 1024  # an offer with its candidates is a few kilobytes
MAX_ICE_SERVERS = 8


class BadOffer(ValueError):
    pass


def ice_configuration(servers) -> RTCConfiguration:
    """aiortc's configuration from the browser-style list the web app sends."""
    if servers is None:
        servers = []
    if not isinstance(servers, list) or len(servers) > MAX_ICE_SERVERS:
        raise BadOffer("ice_servers must be a short list")
    found = []
    for server in servers:
        if not isinstance(server, dict):
            raise BadOffer("an ICE server is an object")
        urls = server.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not all(isinstance(u, str) and u.startswith(("stun:", "turn:", "turns:")) for u in urls):
            raise BadOffer("an ICE server needs stun:, turn: or turns: urls")
        username, credential = server.get("username"), server.get("credential")
        if not all(v is None or isinstance(v, str) for v in (username, credential)):
            raise BadOffer("ICE credentials are strings")
        found.append(RTCIceServer(urls=urls, username=username, credential=credential))
    return RTCConfiguration(iceServers=found)


class EchoServer:
    """Peer connections that send back what they receive, bounded in number and time."""

    def __init__(self, max_sessions: int = 3, seconds: float = 60.0):
        self.max_sessions = max_sessions
        self.seconds = seconds
        self.sessions: set[RTCPeerConnection] = set()
        self.answered = 0

    async def close(self, pc: RTCPeerConnection) -> None:
        self.sessions.discard(pc)
        await pc.close()

    async def answer(self, offer: dict) -> dict:
        """The answer to a browser's offer, its tracks echoed. Raises ``BadOffer``."""
        if offer.get("type") != "offer" or not isinstance(offer.get("sdp"), str):
            raise BadOffer("an offer has type 'offer' and an sdp")
        pc = RTCPeerConnection(configuration=ice_configuration(offer.get("ice_servers")))
        self.sessions.add(pc)
        loop = asyncio.get_running_loop()
        limit = loop.call_later(self.seconds, lambda: asyncio.ensure_future(self.close(pc)))

        @pc.on("track")
        def on_track(track):
            # Received media goes straight back: what the server gets is what the
            # patient sees and hears (aiortc re-encodes it for the way back).
            if track.kind in ("audio", "video"):
                pc.addTrack(track)

        @pc.on("connectionstatechange")
        async def on_state():
            if pc.connectionState in ("failed", "closed"):
                limit.cancel()
                await self.close(pc)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            if not any(t.kind in ("audio", "video") for t in pc.getTransceivers()):
                raise BadOffer("the offer has neither audio nor video")
            await pc.setLocalDescription(await pc.createAnswer())  # gathers every candidate: no trickle
        except Exception as error:  # aiortc refuses a bad SDP with ValueError and others
            limit.cancel()
            await self.close(pc)
            raise BadOffer(str(error) or type(error).__name__) from None
        self.answered += 1
        return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type, "seconds": self.seconds}

    # ------------------------------------------------------------ HTTP
    async def offer_view(self, request: web.Request) -> web.Response:
        if len(self.sessions) >= self.max_sessions:
            return web.json_response({"error": "busy"}, status=503)
        try:
            body = await request.json()
        except Exception:
            return web.json_response({"error": "bad_offer", "detail": "not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "bad_offer", "detail": "not an object"}, status=400)
        try:
            return web.json_response(await self.answer(body))
        except BadOffer as error:
            log.info("offer refused: %s", error)
            return web.json_response({"error": "bad_offer", "detail": str(error)[:200]}, status=400)

    async def health_view(self, _request: web.Request) -> web.Response:
        return web.json_response({"sessions": len(self.sessions), "max_sessions": self.max_sessions,
                                  "seconds": self.seconds, "answered": self.answered})

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/offer", self.offer_view)
        app.router.add_get("/health", self.health_view)

        async def close_all(_app):
            await asyncio.gather(*(self.close(pc) for pc in list(self.sessions)))

        app.on_shutdown.append(close_all)
        return app


def use_host_addresses(addresses: list[str]) -> None:
    """Offer only these addresses as host candidates. aioice leaves out 127.0.0.1 and
    offers every other address of the machine; a server with several adapters, or a
    loopback-only test, names its own."""
    import aioice.ice

    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: chosen


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plugins.video.echo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback: only the web app calls it)")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--max-sessions", type=int, default=3, help="echo sessions at once")
    parser.add_argument("--seconds", type=float, default=60.0, help="each session is closed after this long")
    parser.add_argument("--host-address", action="append", default=[],
                        help="an address to offer as a host candidate (repeat; default: all but loopback)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.host_address:
        use_host_addresses(args.host_address)
    server = EchoServer(max_sessions=max(1, args.max_sessions), seconds=max(1.0, args.seconds))
    print(f"video echo listening on http://{args.host}:{args.port}/", flush=True)
    web.run_app(server.application(), host=args.host, port=args.port, print=None)  # SIGTERM and SIGINT end it


if __name__ == "__main__":
    main(sys.argv[1:])
