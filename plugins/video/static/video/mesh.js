/* The media path of a call: peer-to-peer mesh (2-3 participants; "p2p").
 * The room talks to a backend through this small interface, so another one (an SFU such
 * as Janus) can replace it:
 *   backend = TeleconsultMedia.create(config, {signal, onTrack, onState, onGone})
 *   backend.setLocal(stream); backend.sync(participantIds); backend.receive(from, data)
 *   backend.stats() -> Promise<{rtt_ms, jitter_ms, loss, fps, framesDecoded}>; backend.close()
 *   backend.sent() (optional) -> Promise: the offers made so far are handed to ``signal``
 * and names itself in backend.kind (the server's "media" of the room's state). The Janus
 * SFU's transport is janus.js.
 */
(function () {
  'use strict';

  function Mesh(config, hooks) {
    this.config = config; this.hooks = hooks; this.me = config.me;
    this.peers = {}; this.local = null; this.lastLoss = {}; this.offering = Promise.resolve();
  }

  Mesh.prototype.kind = 'p2p';

  Mesh.prototype.rtcConfig = function () {
    return {iceServers: this.config.iceServers || [], iceTransportPolicy: this.config.iceTransportPolicy || 'all'};
  };

  Mesh.prototype.setLocal = function (stream) {
    this.local = stream;
    Object.keys(this.peers).forEach(function (id) {
      var peer = this.peers[id], pc = peer.pc, added = false;
      stream.getTracks().forEach(function (track) {
        var sender = pc.getSenders().find(function (s) { return s.track && s.track.kind === track.kind; });
        if (sender) { sender.replaceTrack(track); return; }
        // A receive-only transceiver (no camera when the call began) starts sending.
        var idle = pc.getTransceivers().find(function (t) {
          return !t.sender.track && t.receiver.track && t.receiver.track.kind === track.kind;
        });
        if (idle) { idle.sender.replaceTrack(track); idle.direction = 'sendrecv'; } else pc.addTrack(track, stream);
        added = true;
      });
      if (added) this.renegotiate(peer);
    }, this);
  };

  // New tracks need a new offer: the offerer makes it, the other side asks for one.
  Mesh.prototype.renegotiate = function (peer) {
    if (!peer.polite) this.offer(peer, false);
    else this.hooks.signal(peer.id, {renegotiate: true});
  };

  Mesh.prototype.peer = function (id) {
    if (this.peers[id]) return this.peers[id];
    var self = this, pc = new RTCPeerConnection(this.rtcConfig());
    // The higher id, who entered later, makes the offers: it knows the others from its
    // join answer, so the call is set up without waiting for another round of «state»;
    // one offerer per pair, no glare.
    var peer = {id: id, pc: pc, polite: this.me < id, timer: null, pending: [], outbox: [], flush: null};
    this.peers[id] = peer;
    if (this.local) this.local.getTracks().forEach(function (t) { pc.addTrack(t, self.local); });
    else ['audio', 'video'].forEach(function (kind) { pc.addTransceiver(kind, {direction: 'recvonly'}); });
    // Candidates go out in batches: one server event for what was gathered within 15 ms,
    // not one each (a connection's events run one after another on the server).
    pc.onicecandidate = function (e) {
      if (!e.candidate) return;
      peer.outbox.push(e.candidate.toJSON());
      if (!peer.flush) peer.flush = setTimeout(function () {
        peer.flush = null;
        self.hooks.signal(id, {candidates: peer.outbox.splice(0)});
      }, 15);
    };
    pc.ontrack = function (e) { self.hooks.onTrack(id, e.streams[0] || new MediaStream([e.track])); };
    pc.oniceconnectionstatechange = function () {
      var state = pc.iceConnectionState;
      self.hooks.onState(id, state);
      clearTimeout(peer.timer);
      if (state === 'failed') self.restart(peer);
      // A short drop often heals itself; past 3 s the path is renegotiated.
      if (state === 'disconnected') peer.timer = setTimeout(function () { self.restart(peer); }, 3000);
    };
    if (!peer.polite) this.offer(peer, false);
    return peer;
  };

  Mesh.prototype.offer = function (peer, iceRestart) {
    var self = this;
    var sent = peer.pc.createOffer({iceRestart: !!iceRestart}).then(function (offer) {
      return peer.pc.setLocalDescription(offer);
    }).then(function () {
      self.hooks.signal(peer.id, {description: peer.pc.localDescription.toJSON()});
    }).catch(function (error) { console.warn('offer failed', error); });
    this.offering = Promise.all([this.offering, sent]);
    return sent;
  };

  // Resolves once the offers made so far have been handed to the server.
  Mesh.prototype.sent = function () { return this.offering; };

  Mesh.prototype.restart = function (peer) {
    if (!this.peers[peer.id]) return;
    if (!peer.polite) this.offer(peer, true);
    else this.hooks.signal(peer.id, {restart: true});  // ask the offerer
  };

  Mesh.prototype.sync = function (ids) {
    var want = {};
    ids.forEach(function (id) { if (id !== this.me) { want[id] = true; this.peer(id); } }, this);
    Object.keys(this.peers).forEach(function (id) {
      if (!want[id]) { clearTimeout(this.peers[id].flush); this.peers[id].pc.close(); delete this.peers[id]; this.hooks.onGone(Number(id)); }
    }, this);
  };

  Mesh.prototype.receive = function (from, data) {
    var self = this, peer = this.peer(from), pc = peer.pc;
    if (data.restart || data.renegotiate) { if (!peer.polite) this.offer(peer, !!data.restart); return Promise.resolve(); }
    if (data.description) {
      var description = data.description;
      if (description.type === 'offer' && pc.signalingState !== 'stable') {
        if (!peer.polite) return Promise.resolve();  // the impolite side keeps its own offer
        return pc.setLocalDescription({type: 'rollback'}).then(function () { return self.receive(from, data); });
      }
      return pc.setRemoteDescription(description).then(function () {
        peer.pending.splice(0).forEach(function (c) { pc.addIceCandidate(c).catch(function () {}); });
        if (description.type !== 'offer') return null;
        return pc.createAnswer().then(function (answer) { return pc.setLocalDescription(answer); }).then(function () {
          self.hooks.signal(from, {description: pc.localDescription.toJSON()});
        });
      }).catch(function (error) { console.warn('description failed', error); });
    }
    var candidates = Array.isArray(data.candidates) ? data.candidates : data.candidate ? [data.candidate] : [];
    if (candidates.length) {
      if (!pc.remoteDescription) { peer.pending.push.apply(peer.pending, candidates); return Promise.resolve(); }
      return Promise.all(candidates.map(function (c) { return pc.addIceCandidate(c).catch(function () {}); }));
    }
    return Promise.resolve();
  };

  // Figures of all peers: the worst RTT/jitter/loss, the lowest fps, frames decoded in total.
  Mesh.prototype.stats = function () {
    var self = this;
    var all = Object.keys(this.peers).map(function (id) {
      return self.peers[id].pc.getStats().then(function (report) {
        var out = {id: Number(id), rtt_ms: null, jitter_ms: null, loss: null, fps: null, framesDecoded: 0, relay: false};
        var lost = 0, received = 0, pairs = {};
        report.forEach(function (s) { pairs[s.id] = s; });
        report.forEach(function (s) {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            out.framesDecoded += s.framesDecoded || 0;
            if (s.framesPerSecond != null) out.fps = s.framesPerSecond;
          }
          if (s.type === 'inbound-rtp') {
            lost += s.packetsLost || 0; received += s.packetsReceived || 0;
            if (s.jitter != null) out.jitter_ms = Math.max(out.jitter_ms || 0, s.jitter * 1000);
          }
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
            if (s.currentRoundTripTime != null) out.rtt_ms = s.currentRoundTripTime * 1000;
            var local = pairs[s.localCandidateId];
            // relay: false, or how the browser reaches the TURN server ('udp', 'tcp', 'tls').
            if (local && local.candidateType === 'relay') out.relay = local.relayProtocol || 'udp';
          }
        });
        var previous = self.lastLoss[id] || {lost: 0, received: 0};
        var dLost = lost - previous.lost, dReceived = received - previous.received;
        self.lastLoss[id] = {lost: lost, received: received};
        out.loss = dLost + dReceived > 0 ? Math.max(0, dLost) / (dLost + dReceived) : 0;
        return out;
      });
    });
    return Promise.all(all);
  };

  Mesh.prototype.close = function () {
    Object.keys(this.peers).forEach(function (id) { clearTimeout(this.peers[id].flush); this.peers[id].pc.close(); }, this);
    this.peers = {};
  };

  window.TeleconsultMedia = {
    backends: {p2p: Mesh, mesh: Mesh},
    create: function (config, hooks) {
      var Backend = this.backends[config.backend || 'p2p'] || Mesh;
      return new Backend(config, hooks);
    }
  };
})();
