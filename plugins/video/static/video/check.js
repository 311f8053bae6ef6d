/* «Проверка связи» before a video call (SPEC P5, D8; guide 000 §5.3, 002 §6.3).
 * Camera preview, microphone level, device pickers, a speaker test sound; then what the
 * browser saw goes to the server, which names the guide's cause that applies:
 *   camera / microphone: the getUserMedia error's name (NotAllowedError, NotReadableError…);
 *     permissions.query is not asked: it answers "prompt" for a blocked device;
 *   relay: relay candidates of a relay-only connection through the deployment's TURN
 *     (srflx through STUN when there is no TURN);
 *   hosts: how many distinct non-loopback IPv4 host addresses (only the count is sent);
 *   rtt_ms: the median round trip of a few requests to the server;
 *   turn_ok, throughput_kbps, loss: as Jitsi's pre-call test, two connections of this page
 *     through the TURN only (relay to relay), a data channel without retransmissions
 *     paced at up to 2 Mbit/s for 3 s: whether it connects, what it carries, what it loses.
 * Written without newer syntax: an old browser must still get as far as the verdict. */
(function () {
  'use strict';
  if (!window.Promise || !window.fetch) return;  // the page's own text names the browser cause

  var GATHER_MS = 10000;  // a firewall that drops packets silently: the gathering stops here
  var PINGS = 5;
  var LOOP_MS = 3000, LOOP_RATE = 2000000, PACKET = 1000;  // throughput through the TURN

  function $(root, selector) { return root.querySelector(selector); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function errorName(error) { return (error && error.name) || 'Error'; }

  function start(root) {
    var T = document.getElementById('video-check-texts').dataset;
    var video = $(root, '.pc-video'), meter = $(root, '.pc-level');
    var stream = null, audioContext = null, levelTimer = null, running = null;
    var api = {result: null, facts: null, level: 0, runs: 0};
    window.TeleconsultVideoCheck.current = api;

    function step(name, state, text) {
      var item = $(root, '[data-step="' + name + '"]');
      item.dataset.state = state;
      $(item, '.pc-state').textContent = text;
    }

    // ------------------------------------------------------------ devices
    function constraints(kind) {
      var select = $(root, kind === 'video' ? '.pc-camera' : '.pc-mic'), id = select.value;
      if (kind === 'video') return id ? {deviceId: {exact: id}, width: 640, height: 480} : {width: 640, height: 480};
      return id ? {deviceId: {exact: id}} : true;
    }

    function stopStream() {
      if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
      clearInterval(levelTimer);
      if (audioContext) { audioContext.close(); audioContext = null; }
    }

    function show(s) {
      stopStream();
      stream = s;
      var hasVideo = s.getVideoTracks().length > 0;
      video.srcObject = hasVideo ? s : null;
      $(root, '.pc-no-video').hidden = hasVideo;
      if (s.getAudioTracks().length) listen(s);
    }

    function listen(s) {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      audioContext = new Context();
      var analyser = audioContext.createAnalyser();
      analyser.fftSize = 1024;
      audioContext.createMediaStreamSource(s).connect(analyser);
      var data = new Float32Array(analyser.fftSize);
      levelTimer = setInterval(function () {
        analyser.getFloatTimeDomainData(data);
        var sum = 0;
        for (var i = 0; i < data.length; i++) sum += data[i] * data[i];
        var level = Math.min(1, Math.sqrt(sum / data.length) * 4);
        meter.value = level; api.level = Math.max(api.level, level);
      }, 100);
    }

    // The combined request first (one prompt); when it fails, each device alone tells
    // which one is blocked, busy or missing.
    function openMedia() {
      var md = navigator.mediaDevices;
      return md.getUserMedia({audio: constraints('audio'), video: constraints('video')}).then(function (s) {
        show(s);
        return {camera: s.getVideoTracks().length ? 'ok' : 'NotFoundError', microphone: s.getAudioTracks().length ? 'ok' : 'NotFoundError'};
      }, function (combined) {
        var result = {};
        function alone(kind, key) {
          var c = {}; c[kind] = constraints(kind);
          return md.getUserMedia(c).then(function (s) { result[key] = 'ok'; return s; },
                                         function (e) { result[key] = errorName(e); return null; });
        }
        return Promise.all([alone('audio', 'microphone'), alone('video', 'camera')]).then(function (got) {
          var tracks = [];
          got.forEach(function (s) { if (s) tracks = tracks.concat(s.getTracks()); });
          if (tracks.length) show(new MediaStream(tracks)); else { stopStream(); video.srcObject = null; $(root, '.pc-no-video').hidden = false; }
          if (result.camera === 'ok' && result.microphone === 'ok') result.camera = errorName(combined);  // only together
          return result;
        });
      });
    }

    function fillDevices() {
      if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve();
      return navigator.mediaDevices.enumerateDevices().then(function (devices) {
        var current = {};
        if (stream) stream.getTracks().forEach(function (t) {
          var settings = t.getSettings ? t.getSettings() : {};
          current[t.kind === 'video' ? 'videoinput' : 'audioinput'] = settings.deviceId;
        });
        [['videoinput', '.pc-camera', T.cameraN], ['audioinput', '.pc-mic', T.micN], ['audiooutput', '.pc-speaker', T.speakerN]].forEach(function (k) {
          var select = $(root, k[1]), chosen = select.value || current[k[0]];
          select.textContent = '';
          devices.filter(function (d) { return d.kind === k[0]; }).forEach(function (d, i) {
            var option = el('option', null, d.label || k[2] + ' ' + (i + 1));
            option.value = d.deviceId; select.appendChild(option);
          });
          if (chosen) select.value = chosen;
        });
        // A speaker is chosen only where the browser can play to a chosen one.
        var speakers = $(root, '.pc-speaker').options.length;
        $(root, '.pc-speaker-field').hidden = !('setSinkId' in HTMLMediaElement.prototype) || !speakers;
      });
    }

    // ------------------------------------------------------------ speaker
    function beepUrl() {
      var rate = 22050, seconds = 0.7, n = Math.floor(rate * seconds), buffer = new ArrayBuffer(44 + n * 2), v = new DataView(buffer);
      function text(offset, s) { for (var i = 0; i < s.length; i++) v.setUint8(offset + i, s.charCodeAt(i)); }
      text(0, 'RIFF'); v.setUint32(4, 36 + n * 2, true); text(8, 'WAVE'); text(12, 'fmt ');
      v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, rate, true);
      v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true); text(36, 'data'); v.setUint32(40, n * 2, true);
      for (var i = 0; i < n; i++) {
        var fade = Math.min(1, i / 400, (n - i) / 400);
        v.setInt16(44 + i * 2, Math.sin(2 * Math.PI * 660 * i / rate) * 0.4 * fade * 32767, true);
      }
      return URL.createObjectURL(new Blob([buffer], {type: 'audio/wav'}));
    }
    var beep = new Audio(beepUrl());
    $(root, '.pc-beep').addEventListener('click', function () {
      var speaker = $(root, '.pc-speaker').value;
      var ready = speaker && beep.setSinkId ? beep.setSinkId(speaker) : Promise.resolve();
      ready.then(function () { beep.currentTime = 0; return beep.play(); }).then(function () { api.beeped = true; }, function () {});
    });

    // ------------------------------------------------------------ network
    function gather(config, wanted) {
      return new Promise(function (resolve) {
        var pc, found = [], done = false;
        function finish() {
          if (done) return;
          done = true; clearTimeout(timer);
          try { pc.close(); } catch (e) { /* closed already */ }
          resolve(found);
        }
        var timer = setTimeout(finish, GATHER_MS);
        try {
          pc = new RTCPeerConnection(config);
        } catch (e) { done = true; clearTimeout(timer); resolve(null); return; }
        pc.addEventListener('icecandidate', function (e) {
          if (!e.candidate) { finish(); return; }
          var line = e.candidate.candidate || '', parts = line.split(' ');
          var type = e.candidate.type || parts[7], address = e.candidate.address || parts[4];
          if (wanted.indexOf(type) >= 0) found.push({type: type, address: address});
        });
        pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') finish(); });
        pc.createDataChannel('check');
        pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); }).catch(finish);
      });
    }

    // Two connections of this page through the TURN only: what it carries and loses.
    function throughputTest(turnServers) {
      return new Promise(function (resolve) {
        var config = {iceServers: turnServers, iceTransportPolicy: 'relay'};
        var a, b, channel, done = false, pace = null, sent = 0, sentBytes = 0, received = 0, bytes = 0, last = 0;
        function finish(result) {
          if (done) return;
          done = true; clearTimeout(timer); clearInterval(pace);
          try { a.close(); b.close(); } catch (e) { /* closed already */ }
          resolve(result);
        }
        var timer = setTimeout(function () { finish({turn_ok: false}); }, GATHER_MS + LOOP_MS + 3000);
        try {
          a = new RTCPeerConnection(config); b = new RTCPeerConnection(config);
        } catch (e) { finish({}); return; }
        a.addEventListener('icecandidate', function (e) { if (e.candidate) b.addIceCandidate(e.candidate).catch(function () {}); });
        b.addEventListener('icecandidate', function (e) { if (e.candidate) a.addIceCandidate(e.candidate).catch(function () {}); });
        b.addEventListener('datachannel', function (e) {
          e.channel.binaryType = 'arraybuffer';
          e.channel.addEventListener('message', function (m) { received += 1; bytes += m.data.byteLength; last = performance.now(); });
        });
        channel = a.createDataChannel('throughput', {ordered: false, maxRetransmits: 0});
        function figures(started) {
          // Still queued in the sender is not lost: the path was only slower than the pace.
          var queued = Math.floor((channel.bufferedAmount || 0) / PACKET), elapsed = Math.max(1, last - started);
          finish({turn_ok: true, throughput_kbps: Math.round(bytes * 8 / elapsed),
                  loss: sent ? Math.min(1, Math.max(0, sent - queued - received) / sent) : null});
        }
        channel.addEventListener('open', function () {
          var started = performance.now(), payload = new Uint8Array(PACKET);
          pace = setInterval(function () {
            var elapsed = performance.now() - started;
            if (elapsed >= LOOP_MS) { clearInterval(pace); setTimeout(function () { figures(started); }, 500); return; }
            while (sentBytes < LOOP_RATE / 8 * elapsed / 1000 && channel.bufferedAmount < 256 * 1024) {
              channel.send(payload); sent += 1; sentBytes += PACKET;
            }
          }, 10);
        });
        a.createOffer().then(function (o) { return a.setLocalDescription(o); })
          .then(function () { return b.setRemoteDescription(a.localDescription); })
          .then(function () { return b.createAnswer(); })
          .then(function (o) { return b.setLocalDescription(o); })
          .then(function () { return a.setRemoteDescription(b.localDescription); })
          .catch(function () { finish({turn_ok: false}); });
      });
    }

    function pathTest(servers) {
      if (servers.turn.length) {
        return gather({iceServers: servers.turn, iceTransportPolicy: 'relay'}, ['relay']).then(function (found) {
          var path = {relay: found ? found.length : 0};
          if (!path.relay) return path;
          step('throughput', 'checking', T.measuring);
          return throughputTest(servers.turn).then(function (loop) { return Object.assign(path, loop); });
        });
      }
      if (servers.stun.length) {
        return gather({iceServers: servers.stun}, ['srflx']).then(function (found) { return {srflx: found ? found.length : 0}; });
      }
      return Promise.resolve({});
    }

    function isCounted(address) {  // a real adapter's IPv4 address (one adapter has one)
      return /^\d+\.\d+\.\d+\.\d+$/.test(address || '') && !/^127\./.test(address) && !/^169\.254\./.test(address) &&
        address !== '0.0.0.0';
    }

    function hostTest() {
      return gather({iceServers: []}, ['host']).then(function (found) {
        var seen = {};
        (found || []).forEach(function (c) { if (isCounted(c.address)) seen[c.address] = true; });
        return Object.keys(seen).length;
      });
    }

    function roundTrip() {
      var times = [], url = root.dataset.pingUrl;
      function one(i) {
        if (i >= PINGS) return Promise.resolve();
        var t0 = performance.now();
        return fetch(url, {credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
          if (r.ok) times.push(performance.now() - t0);
          return one(i + 1);
        });
      }
      return one(0).then(function () {
        if (!times.length) return null;
        times.sort(function (a, b) { return a - b; });
        return Math.round(times[Math.floor(times.length / 2)]);
      }, function () { return null; });
    }

    // ------------------------------------------------------------ the verdict
    function showResult(check) {
      var result = $(root, '.pc-result');
      result.dataset.cause = check.cause;
      $(result, '.pc-headline').textContent = check.headline;
      var list = $(result, '.pc-advice');
      list.textContent = '';
      check.advice.forEach(function (a) {
        var item = el('li'); item.value = a.number; item.dataset.cause = a.cause;
        item.appendChild(el('p', 'pc-guide', a.guide));
        var todo = el('p', 'pc-todo'); todo.appendChild(el('strong', null, T.todo + ': ')); todo.appendChild(document.createTextNode(a.todo));
        item.appendChild(todo); list.appendChild(item);
      });
      $(result, '.pc-quality').textContent = check.quality || '';
      step('camera', check.camera === 'ok' ? 'ok' : 'bad', T[check.camera] || check.camera);
      step('microphone', check.microphone === 'ok' ? 'ok' : 'bad', T[check.microphone] || check.microphone);
      step('network', check.network === 'blocked' ? 'bad' : check.network === 'unknown' ? 'unknown' : 'ok',
           api.facts && !api.facts.webrtc ? T.untested : T[check.network]);
      step('rtt', check.rtt_ms == null ? 'unknown' : 'ok', check.rtt_ms == null ? '—' : check.rtt_ms + ' ' + T.ms);
      step('throughput', check.throughput_kbps == null ? (check.network === 'blocked' ? 'bad' : 'unknown') : 'ok',
           check.throughput_kbps == null ? '—' : check.throughput_kbps + ' ' + T.kbps + ', ' + T.loss + ' ' +
           String(check.loss_pct == null ? '—' : check.loss_pct).replace('.', ',') + ' %');
      step('browser', check.cause === 'browser' ? 'bad' : 'ok', check.browser || $(root, '[data-step="browser"] .pc-state').textContent);
    }

    function save(facts) {
      var token = document.querySelector('meta[name="csrf-token"]').content;
      return fetch(root.dataset.saveUrl, {
        method: 'POST', credentials: 'same-origin', body: JSON.stringify(facts),
        headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token}
      }).then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); });
    }

    function run() {
      if (echo) stopEcho();
      api.runs += 1; api.result = null;
      var result = $(root, '.pc-result');
      result.dataset.cause = ''; $(result, '.pc-headline').textContent = T.running; $(result, '.pc-advice').textContent = '';
      $(result, '.pc-quality').textContent = '';
      ['camera', 'microphone', 'network', 'rtt', 'throughput'].forEach(function (name) { step(name, 'checking', T.checking); });
      var facts = {webrtc: typeof window.RTCPeerConnection === 'function',
                   media_api: !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)};
      var media = facts.media_api ? openMedia() : Promise.resolve({});
      // Host addresses after the media answered: before, the browser hides them (mDNS).
      var hosts = facts.webrtc ? media.then(hostTest, hostTest) : Promise.resolve(0);
      var path = facts.webrtc ? fetch(root.dataset.iceUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); })
        .then(pathTest) : Promise.resolve({});
      var rtt = roundTrip();
      running = Promise.all([media, path, hosts, rtt]).then(function (got) {
        Object.assign(facts, got[0], got[1], {hosts: got[2], rtt_ms: got[3]});
        api.facts = facts;
        fillDevices();
        return save(facts);
      }).then(function (answer) {
        if (!answer.ok) { $(result, '.pc-headline').textContent = (answer.data.error || {}).message || T.failed; return; }
        api.result = answer.data.check; showResult(answer.data.check);
      }).catch(function () { $(result, '.pc-headline').textContent = T.failed; api.result = {cause: 'refresh', failed: true}; });
      return running;
    }

    // ------------------------------------------------------------ echo test
    // The server peer (aiortc, its own process) sends back what it receives: the patient
    // sees and hears themselves as the server gets them. Its offer waits for every
    // candidate (the server answers once, no trickle).
    var echoBox = $(root, '.pc-echo'), echo = null;
    api.echo = null;

    function echoFigure(name, state, text) {
      var item = $(echoBox, '[data-echo="' + name + '"]');
      item.dataset.state = state;
      $(item, '.pc-state').textContent = text;
    }

    function echoStatus(text, state) {
      var status = $(echoBox, '.pc-echo-status');
      status.textContent = text; status.dataset.state = state || '';
    }

    function gathered(pc, ms) {
      return new Promise(function (resolve) {
        if (pc.iceGatheringState === 'complete') { resolve(); return; }
        var timer = setTimeout(resolve, ms);
        pc.addEventListener('icegatheringstatechange', function () {
          if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
        });
      });
    }

    function echoStats(session) {
      return session.pc.getStats().then(function (report) {
        var pairs = {}, selected = null;
        report.forEach(function (r) {
          if (r.type === 'inbound-rtp' && r.kind === 'video') session.framesDecoded = r.framesDecoded || 0;
          if (r.type === 'inbound-rtp' && r.kind === 'audio') session.audioPackets = r.packetsReceived || 0;
          if (r.type === 'candidate-pair') pairs[r.id] = r;
          if (r.type === 'transport' && r.selectedCandidatePairId) selected = r.selectedCandidatePairId;
        });
        var pair = pairs[selected];
        if (!pair) Object.keys(pairs).forEach(function (id) { if (pairs[id].nominated && pairs[id].state === 'succeeded') pair = pairs[id]; });
        if (pair && pair.currentRoundTripTime != null) session.rtt = Math.round(pair.currentRoundTripTime * 1000);
        echoFigure('rtt', session.rtt == null ? 'unknown' : 'ok', session.rtt == null ? '—' : session.rtt + ' ' + T.ms);
        echoFigure('video', session.framesDecoded ? 'ok' : 'bad', session.framesDecoded ? T.echoFrames + ' (' + session.framesDecoded + ')' : T.echoNoVideo);
        echoFigure('audio', session.audioPackets ? 'ok' : 'bad', session.audioPackets ? T.echoSound : T.echoNoSound);
        return session;
      });
    }

    function stopEcho(text, state) {
      if (!echo) return;
      var session = echo;
      echo = null;
      clearInterval(session.statsTimer); clearTimeout(session.endTimer);
      try { session.pc.close(); } catch (e) { /* closed already */ }
      session.state = state || 'done';
      $(echoBox, '.pc-echo-audio').srcObject = null;
      $(echoBox, '.pc-echo-start').textContent = T.echoStart;
      echoBox.dataset.state = session.state;
      ['rtt', 'video', 'audio'].forEach(function (name) {  // nothing measured: no «проверяется…» left
        var item = $(echoBox, '[data-echo="' + name + '"]');
        if (item.dataset.state === 'checking') echoFigure(name, 'unknown', '—');
      });
      if (text) echoStatus(text, session.state);
    }

    function startEcho() {
      if (!stream || !stream.getTracks().length) { echoBox.dataset.state = 'failed'; echoStatus(T.echoNoMedia, 'failed'); return; }
      var remote = new MediaStream(), video = $(echoBox, '.pc-echo-video'), audio = $(echoBox, '.pc-echo-audio');
      var session = {pc: null, state: 'connecting', framesDecoded: 0, audioPackets: 0, rtt: null, seconds: null, error: null};
      echo = api.echo = session;
      echoBox.dataset.state = 'connecting';
      $(echoBox, '.pc-echo-start').textContent = T.echoStop;
      echoStatus(T.echoConnecting, 'connecting');
      ['rtt', 'video', 'audio'].forEach(function (name) { echoFigure(name, 'checking', T.checking); });
      function fail(text) { session.error = text; if (echo === session) stopEcho(text, 'failed'); }
      fetch(root.dataset.iceUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (servers) {
        if (echo !== session) return null;
        var pc = session.pc = new RTCPeerConnection({iceServers: servers.turn.concat(servers.stun)});
        stream.getTracks().forEach(function (t) { pc.addTrack(t, stream); });
        pc.addEventListener('track', function (e) {
          remote.addTrack(e.track);
          video.srcObject = remote; audio.srcObject = remote;
          var speaker = $(root, '.pc-speaker').value;
          if (speaker && audio.setSinkId) audio.setSinkId(speaker).catch(function () {});
          audio.play().catch(function () {});
        });
        pc.addEventListener('connectionstatechange', function () {
          if (pc.connectionState === 'failed' && echo === session) fail(T.echoNoPath);
        });
        return pc.createOffer().then(function (offer) { return pc.setLocalDescription(offer); })
          .then(function () { return gathered(pc, GATHER_MS); })
          .then(function () {
            var token = document.querySelector('meta[name="csrf-token"]').content;
            return fetch(echoBox.dataset.echoUrl, {
              method: 'POST', credentials: 'same-origin',
              body: JSON.stringify({sdp: pc.localDescription.sdp, type: 'offer'}),
              headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRFToken': token}
            });
          })
          .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
          .then(function (answer) {
            if (echo !== session) return;
            if (!answer.ok) { fail((answer.data.error || {}).message || T.echoFailed); return; }
            session.seconds = answer.data.seconds;
            return pc.setRemoteDescription({type: 'answer', sdp: answer.data.sdp}).then(function () {
              var started = performance.now();
              session.state = 'running'; echoBox.dataset.state = 'running';
              echoStatus(T.echoRunning, 'running');
              session.statsTimer = setInterval(function () {
                echoStats(session).then(function () {
                  // Connected for 15 s and still no picture: the way back does not work.
                  if (!session.framesDecoded && pc.connectionState === 'connected' && performance.now() - started > 15000) fail(T.echoNoFrames);
                  // Never connected within the gathering time and more: no path to the server.
                  else if (pc.connectionState !== 'connected' && !session.framesDecoded && performance.now() - started > GATHER_MS + 10000) fail(T.echoNoPath);
                }, function () {});
              }, 1000);
              // The server closes its side after `seconds`; this page stops a little before.
              session.endTimer = setTimeout(function () { if (echo === session) stopEcho(T.echoDone, 'done'); },
                                            Math.max(5, (session.seconds || 60) - 2) * 1000);
            });
          });
      }).catch(function () { fail(T.echoFailed); });
    }

    if (echoBox) {
      $(echoBox, '.pc-echo-start').addEventListener('click', function () {
        if (echo) { stopEcho(T.echoDone, 'done'); return; }
        startEcho();
      });
      window.addEventListener('pagehide', function () { stopEcho(); });
    }

    $(root, '.pc-again').addEventListener('click', function () { if (running) running.then(run); else run(); });
    [$(root, '.pc-camera'), $(root, '.pc-mic')].forEach(function (select) {
      select.addEventListener('change', function () { openMedia().then(fillDevices); });
    });
    window.addEventListener('pagehide', stopStream);
    run();
    return api;
  }

  window.TeleconsultVideoCheck = {start: start};
})();
