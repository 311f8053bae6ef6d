/* The media path of a call through the Janus SFU (videoroom plugin), for rooms of many.
 * Same interface as the mesh (mesh.js): TeleconsultMedia.backends.janus.
 * Each browser publishes its microphone and camera once (the server's «moderate» finds the
 * microphone's mid in the publisher's streams at Janus), and subscribes to every other publisher of the room; Janus forwards.
 * The client library is Meetecho's janus-gateway (npm), loaded on first use.
 * config: {server, token, room, pin, roomToken, display, library, iceServers, iceTransportPolicy, me}
 */
(function () {
  'use strict';

  var PLUGIN = 'janus.plugin.videoroom';
  var loading = null;

  function library(url) {
    if (!loading) {
      loading = import(url).then(function (module) {
        var Janus = module.default;
        return new Promise(function (resolve) {
          Janus.init({debug: false, dependencies: Janus.useDefaultDependencies({adapter: window.adapter}),
                      callback: function () { resolve(Janus); }});
        });
      });
    }
    return loading;
  }

  // A path is on the page's own origin (the proxy in front of Janus): ws(s)://host/path.
  function serverUrl(server) {
    if (server.charAt(0) !== '/') return server;
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + server;
  }

  function JanusRoom(config, hooks) {
    this.kind = 'janus'; this.config = config; this.hooks = hooks; this.me = config.me;
    this.local = null; this.publisher = null; this.joined = false; this.published = false;
    this.privateId = null; this.feeds = {}; this.closed = false; this.lastLoss = {};
    this.moderation = {};  // {feed id: 'muted' | 'unmuted'} as Janus announced it
    var self = this;
    this.ready = library(config.library).then(function (Janus) {
      return new Promise(function (resolve, reject) {
        self.session = new Janus({
          server: serverUrl(config.server), token: config.token, iceServers: config.iceServers || [],
          iceTransportPolicy: config.iceTransportPolicy || 'all',
          success: resolve, error: function (error) { reject(error); }
        });
      });
    }).then(function () {
      if (!self.closed) self.attachPublisher();
    }).catch(function (error) { console.warn('Janus', error); });
  }

  JanusRoom.prototype.base = function (ptype) {
    return {request: 'join', ptype: ptype, room: this.config.room, pin: this.config.pin, token: this.config.roomToken};
  };

  JanusRoom.prototype.attachPublisher = function () {
    var self = this;
    this.session.attach({
      plugin: PLUGIN, opaqueId: 'teleconsult-' + this.me,
      success: function (handle) {
        self.publisher = handle;
        handle.send({message: Object.assign(self.base('publisher'), {id: self.me, display: self.config.display})});
      },
      error: function (error) { console.warn('Janus attach', error); },
      iceState: function (state) { self.hooks.onState(self.me, state); },
      onmessage: function (message, jsep) { self.onPublisherMessage(message, jsep); }
    });
  };

  JanusRoom.prototype.onPublisherMessage = function (message, jsep) {
    var self = this;
    if (jsep) this.publisher.handleRemoteJsep({jsep: jsep});
    if (message.videoroom === 'joined') {
      this.joined = true; this.privateId = message.private_id;
      this.subscribe(message.publishers || []);
      this.publish();
      return;
    }
    if (message.videoroom === 'destroyed') return;
    if (message.leaving === 'ok' || message.kicked === this.me) { this.out(); return; }
    if (message.publishers) this.subscribe(message.publishers);
    [message.unpublished, message.leaving, message.kicked].forEach(function (id) {
      if (id && id !== 'ok' && id !== self.me) self.drop(id);
    });
    if (message.moderation) this.moderation[message.id] = message.moderation;
    if (message.error) console.warn('Janus videoroom', message.error_code, message.error);
  };

  // Out of the Janus room (kicked: the server saw us leave): everything is dropped until
  // the app lets us in again and the room calls refresh().
  JanusRoom.prototype.out = function () {
    this.joined = false; this.published = false;
    Object.keys(this.feeds).forEach(function (id) { this.drop(id); }, this);
    if (this.publisher) { this.publisher.detach(); this.publisher = null; }
  };

  // The app admitted us again (a rejoin after a reconnect): back into the Janus room.
  JanusRoom.prototype.refresh = function (config) {
    var self = this;
    this.config = Object.assign({}, this.config, config, {me: this.me});
    this.ready.then(function () { if (!self.closed && !self.publisher && self.session) self.attachPublisher(); });
  };

  JanusRoom.prototype.tracks = function () {
    var audio = this.local.getAudioTracks()[0], video = this.local.getVideoTracks()[0], tracks = [];
    // The order gives the mids ("0", "1"); the host's mute looks the audio one up at Janus.
    if (audio) tracks.push({type: 'audio', capture: audio, recv: false});
    if (video) tracks.push({type: 'video', capture: video, recv: false});
    return tracks;
  };

  JanusRoom.prototype.publish = function () {
    if (!this.joined || !this.local || this.published || this.closed) return;
    this.published = true;
    var self = this, tracks = this.tracks();
    this.publisher.createOffer({
      tracks: tracks,
      success: function (jsep) {
        self.publisher.send({message: {request: 'configure', audio: tracks.some(function (t) { return t.type === 'audio'; }),
                                       video: tracks.some(function (t) { return t.type === 'video'; })}, jsep: jsep});
      },
      error: function (error) { self.published = false; console.warn('Janus offer', error); }
    });
  };

  JanusRoom.prototype.setLocal = function (stream) {
    this.local = stream;
    if (!this.published) { this.publish(); return; }
    var tracks = this.tracks().map(function (t, i) { return {type: t.type, mid: String(i), capture: t.capture}; });
    this.publisher.replaceTracks({tracks: tracks, error: function (error) { console.warn('Janus replace', error); }});
  };

  JanusRoom.prototype.subscribe = function (publishers) {
    var self = this;
    publishers.forEach(function (publisher) {
      var id = publisher.id;
      if (id === self.me || self.feeds[id] || publisher.dummy) return;
      var feed = {id: id, handle: null, tracks: {}};
      self.feeds[id] = feed;
      self.session.attach({
        plugin: PLUGIN, opaqueId: 'teleconsult-' + self.me,
        success: function (handle) {
          feed.handle = handle;
          if (self.feeds[id] !== feed) { handle.detach(); return; }
          handle.send({message: Object.assign(self.base('subscriber'), {private_id: self.privateId, streams: [{feed: id}]})});
        },
        error: function (error) { console.warn('Janus subscribe', error); },
        iceState: function (state) { self.hooks.onState(id, state); },
        onmessage: function (message, jsep) {
          if (!jsep) return;
          feed.handle.createAnswer({
            jsep: jsep, tracks: [{type: 'data'}],
            success: function (answer) { feed.handle.send({message: {request: 'start', room: self.config.room}, jsep: answer}); },
            error: function (error) { console.warn('Janus answer', error); }
          });
        },
        onremotetrack: function (track, mid, on) {
          if (self.feeds[id] !== feed) return;
          if (on) feed.tracks[mid] = track; else delete feed.tracks[mid];
          var all = Object.keys(feed.tracks).map(function (m) { return feed.tracks[m]; });
          self.hooks.onTrack(id, new MediaStream(all));
        }
      });
    });
  };

  JanusRoom.prototype.drop = function (id) {
    var feed = this.feeds[id];
    if (!feed) return;
    delete this.feeds[id];
    if (feed.handle) feed.handle.detach();
    this.hooks.onGone(Number(id));
  };

  // The room's participants: feeds of those who left are dropped (Janus says so too).
  JanusRoom.prototype.sync = function (ids) {
    var want = {};
    ids.forEach(function (id) { want[id] = true; });
    Object.keys(this.feeds).forEach(function (id) { if (!want[id]) this.drop(id); }, this);
  };

  JanusRoom.prototype.receive = function () { return Promise.resolve(); };  // no peer signals

  // Figures of each subscription (the publisher's RTT too), the shape mesh.js reports.
  JanusRoom.prototype.stats = function () {
    var self = this;
    var all = Object.keys(this.feeds).map(function (id) {
      var handle = self.feeds[id].handle, pc = handle && handle.webrtcStuff && handle.webrtcStuff.pc;
      if (!pc) return null;
      return pc.getStats().then(function (report) {
        var out = {id: Number(id), rtt_ms: null, jitter_ms: null, loss: null, fps: null, framesDecoded: 0,
                   audioPackets: 0, relay: false};
        var lost = 0, received = 0, byId = {};
        report.forEach(function (s) { byId[s.id] = s; });
        report.forEach(function (s) {
          if (s.type === 'inbound-rtp' && s.kind === 'video') {
            out.framesDecoded += s.framesDecoded || 0;
            if (s.framesPerSecond != null) out.fps = s.framesPerSecond;
          }
          if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets += s.packetsReceived || 0;
          if (s.type === 'inbound-rtp') {
            lost += s.packetsLost || 0; received += s.packetsReceived || 0;
            if (s.jitter != null) out.jitter_ms = Math.max(out.jitter_ms || 0, s.jitter * 1000);
          }
          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
            if (s.currentRoundTripTime != null) out.rtt_ms = s.currentRoundTripTime * 1000;
            var local = byId[s.localCandidateId];
            if (local && local.candidateType === 'relay') out.relay = local.relayProtocol || 'udp';
          }
        });
        var previous = self.lastLoss[id] || {lost: 0, received: 0};
        var dLost = lost - previous.lost, dReceived = received - previous.received;
        self.lastLoss[id] = {lost: lost, received: received};
        out.loss = dLost + dReceived > 0 ? Math.max(0, dLost) / (dLost + dReceived) : 0;
        return out;
      });
    }).filter(Boolean);
    return Promise.all(all);
  };

  JanusRoom.prototype.close = function () {
    this.closed = true;
    var self = this;
    Object.keys(this.feeds).forEach(function (id) { delete self.feeds[id]; });
    if (this.session) this.session.destroy({cleanupHandles: true});
  };

  window.TeleconsultMedia = window.TeleconsultMedia || {backends: {}};
  window.TeleconsultMedia.backends.janus = JanusRoom;
})();
