/* The call window (SPEC D8, P5): tiles, «Слушатели», «Чат», «Файлы», toolbar, quality. */
(function () {
  'use strict';

  function $(root, selector) { return root.querySelector(selector); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function uid() { return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/-/g, ''); }

  // ``options.socket``: a /video socket of this page to reuse (the ringing popup's,
  // already connected) instead of a new one.
  function room(root, options) {
    options = options || {};
    var T = document.getElementById('video-texts').dataset;
    var consultation = Number(root.dataset.consultation);
    var state = {participants: [], host: null}, me = null, backend = null, local = null;
    // The camera, the microphone and the socket are asked for at once, before the rest of
    // the window (the board's canvas) is built: the call waits for the slower of the two.
    var localSettled = false;
    var localReady = media().then(function (stream) {
      local = stream; if (backend) backend.setLocal(stream); fillDevices(); render();
    }).catch(function () { say(T.noMedia); }).then(function () { localSettled = true; });
    var socket = options.socket || io('/video', {transports: ['websocket']});
    var acceptedAt = null, setupReported = false, startedAt = null, streams = {};
    var notice = $(root, '.vc-notice'), tiles = $(root, '.vc-tiles');
    var api = {socket: socket, state: function () { return state; }, me: function () { return me; },
               backend: function () { return backend; }, local: function () { return local; }};
    window.TeleconsultVideoRoom = api;  // for checks from the page (tests, support)

    function say(text) { notice.textContent = text || ''; notice.hidden = !text; }
    function ask(event, data) {
      return new Promise(function (resolve) {
        socket.timeout(15000).emit(event, Object.assign({consultation_id: consultation}, data || {}), function (err, answer) {
          resolve(err ? {ok: false, offline: true, error: T.offline} : answer);
        });
      });
    }

    // «Доска»: the shared whiteboard (board.js), in the room while the socket is.
    var board = TeleconsultBoard.create($(root, '.vc-board'), {
      ask: ask, texts: T, say: say, me: function () { return me; },
      connected: function () { return socket.connected; },
      filesChanged: function () { folder = 'video'; loadFiles(); }
    });
    api.board = board;

    function media() {
      var mic = $(root, '.vc-mic-device').value, cam = $(root, '.vc-cam-device').value;
      return navigator.mediaDevices.getUserMedia({
        audio: mic ? {deviceId: {exact: mic}} : true,
        video: cam ? {deviceId: {exact: cam}, width: 640, height: 480} : {width: 640, height: 480}
      });
    }

    function fillDevices() {
      return navigator.mediaDevices.enumerateDevices().then(function (devices) {
        [['audioinput', '.vc-mic-device'], ['videoinput', '.vc-cam-device']].forEach(function (pair) {
          var select = $(root, pair[1]), current = select.value;
          select.textContent = '';
          devices.filter(function (d) { return d.kind === pair[0]; }).forEach(function (d, i) {
            var option = el('option', null, d.label || (pair[0] === 'audioinput' ? 'Микрофон ' : 'Камера ') + (i + 1));
            option.value = d.deviceId; select.appendChild(option);
          });
          if (current) select.value = current;
        });
      });
    }

    function mine() { return state.participants.find(function (p) { return p.id === me; }) || {}; }

    function applyOwn() {
      var p = mine();
      if (!local) return;
      local.getAudioTracks().forEach(function (t) { t.enabled = !p.muted && !p.paused; });
      // The camera switch is the server's (state.camera_off): the others' tiles show it, a rejoin keeps it.
      var mic = $(root, '.vc-mic'), cam = $(root, '.vc-cam'), camOn = !p.camera_off;
      local.getVideoTracks().forEach(function (t) { t.enabled = !p.paused && camOn; });
      cam.setAttribute('aria-pressed', String(camOn));
      mic.setAttribute('aria-pressed', String(!p.muted));
      mic.textContent = p.muted ? T.micOff : T.micOn;  // the state in words, not only in colour
      cam.textContent = camOn ? T.camOn : T.camOff;
      $(root, '.vc-broadcast').checked = !p.paused;
    }

    function tile(id) {
      var t = tiles.querySelector('[data-participant="' + id + '"]');
      if (!t) {
        t = el('figure', 'vc-tile'); t.dataset.participant = id;
        var video = el('video'); video.autoplay = true; video.playsInline = true;
        var avatar = el('div', 'vc-avatar'); avatar.setAttribute('aria-hidden', 'true');
        t.appendChild(video); t.appendChild(avatar); t.appendChild(el('span', 'vc-cam-mark', T.cameraOffMark)); t.appendChild(el('figcaption'));
        tiles.appendChild(t);
      }
      return t;
    }

    var shownKey = null;
    function render() {
      var list = $(root, '.vc-people-list');
      // Rebuild «Слушатели» only when it changed: a button must not vanish under the cursor.
      var key = JSON.stringify([me, state.host, state.participants]), rebuild = key !== shownKey;
      shownKey = key;
      if (rebuild) list.textContent = '';
      var iAmHost = state.host === me, present = {};
      board.setHost(iAmHost);
      state.participants.forEach(function (p) {
        present[p.id] = true;
        var t = tile(p.id), caption = t.querySelector('figcaption');
        t.classList.toggle('self', p.id === me); t.querySelector('video').muted = p.id === me;  // no echo of oneself
        caption.textContent = (p.id === me ? T.you + ' · ' : '') + p.name + (p.host ? ' · ' + T.host : '');
        t.classList.toggle('host', p.host); t.classList.toggle('muted', p.muted); t.classList.toggle('paused', p.paused);
        t.classList.toggle('camera-off', !!p.camera_off); t.dataset.cameraOff = p.camera_off ? 'true' : 'false';
        t.querySelector('.vc-avatar').textContent = initials(p.name);
        t.dataset.paused = p.paused ? 'true' : 'false'; t.dataset.pausedText = T.pausedTile; t.dataset.muted = p.muted ? 'true' : 'false';
        if (p.id === me && local) t.querySelector('video').srcObject = local;
        if (streams[p.id] && p.id !== me) { var v = t.querySelector('video'); if (v.srcObject !== streams[p.id]) v.srcObject = streams[p.id]; }
        if (!rebuild) return;
        var item = el('li', 'vc-person'); item.dataset.participant = p.id;
        item.appendChild(el('span', 'vc-person-name', p.name + (p.id === me ? ' (' + T.you + ')' : '')));
        var marks = [];
        if (p.host) marks.push(T.host); if (p.muted) marks.push(T.muted); if (p.paused) marks.push(T.paused);
        if (p.camera_off) marks.push(T.cameraOffMark);
        item.appendChild(el('span', 'vc-person-state', marks.join(', ')));
        if (iAmHost && p.id !== me) {
          if (p.side === 'staff') item.appendChild(button('vc-transfer', T.transfer, function () { ask('transfer', {to: p.id}); }));
          if (!p.muted) item.appendChild(button('vc-mute-other', T.mute, function () { ask('mute', {to: p.id}); }));
        }
        if (p.id === me && p.owner && !p.host) item.appendChild(button('vc-return', T['return'], function () { ask('return_host'); }));
        list.appendChild(item);
      });
      Array.prototype.forEach.call(tiles.querySelectorAll('.vc-tile'), function (t) {
        if (!present[t.dataset.participant]) t.remove();
      });
      applyOwn();
      if (over) return;  // the call's end stays on screen
      if (state.participants.length < 2) say(state.status === 'ringing' ? T.ringing : T.waiting);
      else if (notice.textContent === T.ringing || notice.textContent === T.waiting) say('');
      if (backend) backend.sync(state.participants.map(function (p) { return p.id; }));
    }

    function initials(name) {
      return (name || '').split(/\s+/).filter(Boolean).slice(0, 2).map(function (w) { return w.charAt(0).toUpperCase(); }).join('');
    }

    function button(cls, label, onclick) {
      var b = el('button', cls, label); b.type = 'button'; b.addEventListener('click', onclick); return b;
    }

    function joinRoom() {
      return ask('join', me ? {participant: me} : {}).then(function (answer) {
        // Refused (nobody to wait for, the consultation closed): the camera goes off, «Выйти» stays.
        // A call that ended meanwhile (declined while this tab joined) keeps saying so.
        if (!answer.ok) { if (!over) say(answer.error); if (answer.status) stop(); return; }
        me = answer.me; state = answer.state; startedAt = new Date(state.started_at);
        if (!acceptedAt) acceptedAt = performance.now();
        // Offers wait until the camera and microphone answered (or failed): an offer
        // made before would carry no tracks.
        var offered = localReady.then(function () {
          start(answer);
          return backend && backend.sent ? backend.sent() : null;
        });
        // The board's replay goes after the offers, since a connection's events run one
        // after another on the server; while the camera is still being asked for (a
        // permission prompt) there is no offer to wait for.
        var boardOnline = function () { if (!over) board.online(); };
        if (localSettled) offered.then(boardOnline); else boardOnline();
        return offered;
      });
    }

    var early = [];  // signals that came before the media backend was made
    function start(answer) {
      if (!backend && !root.classList.contains('over')) {
        backend = TeleconsultMedia.create(Object.assign({me: me}, answer.media), {
          signal: function (to, data) { ask('signal', {to: to, data: data}); },
          onTrack: function (id, stream) { streams[id] = stream; render(); },
          onState: function (id, s) { var t = tile(id); t.dataset.ice = s; },
          onGone: function (id) { delete streams[id]; }
        });
        if (local) backend.setLocal(local);
      } else if (backend && backend.refresh && answer.media && answer.media.backend === backend.kind) {
        backend.refresh(answer.media);  // rejoined after a reconnect
      }
      render();
      early.splice(0).forEach(function (m) { if (backend) backend.receive(m.from, m.data); });
      loadFiles();
    }

    // «Видеозвонок» rings first and joins after, so that the call is a ringing one (and
    // turns missed in time) whatever order the server runs the events in. A reconnect
    // rejoins as the same participant.
    var ringFirst = root.dataset.ring === 'true';
    function connected() {
      if (over) return;
      say('');
      var ringing = ringFirst ? ask('call') : Promise.resolve({ok: true});
      ringFirst = false;
      ringing.then(function (answer) { if (!answer.ok && !over) say(answer.error); return over ? null : joinRoom(); });
    }
    socket.on('connect', connected);
    if (socket.connected) connected();  // a reused socket: join at once
    socket.on('disconnect', function () { board.offline(); if (!over) say(T.offline); });
    socket.on('board_op', function (m) { if (m.consultation_id === consultation) board.receive(m.op); });
    socket.on('state', function (s) { if (s.consultation_id === consultation) { state = s; switchMedia(); render(); } });
    socket.on('signal', function (m) { if (backend) backend.receive(m.from, m.data); else early.push(m); });
    socket.on('muted', function () { say(T.mutedBy); });
    socket.on('message', function (m) { if (m.consultation_id === consultation) showMessage(m); });
    socket.on('files_changed', function () { folder = 'video'; loadFiles(); });
    socket.on('call_over', function (m) {
      if (m.consultation_id !== consultation) return;
      say(m.status === 'declined' ? T.declined : m.status === 'missed' ? T.missed : T.ended);
      stop();
    });
    socket.on('ring_over', function (m) {  // the doctor waits on; the patient did not answer
      if (m.consultation_id === consultation && m.status === 'missed' && state.participants.length < 2) say(T.missed);
    });
    socket.on('removed', function () { say(T.removed); stop(); });
    socket.on('session_ended', function () { say(T.removed); stop(); });

    // The room moved to another media backend (past VIDEO_SFU_THRESHOLD: to Janus):
    // the new transport replaces the old one with fresh settings from the server.
    function switchMedia() {
      if (!backend || !state.media || backend.kind === state.media) return;
      ask('ice').then(function (answer) {
        if (!answer.ok || !backend || backend.kind === answer.media.backend) return;
        backend.close(); backend = null; streams = {};
        start({media: answer.media});
      });
    }

    var over = false;
    function stop() {
      over = true;
      if (backend) backend.close();
      backend = null;
      board.close();
      if (local) local.getTracks().forEach(function (t) { t.stop(); });
      root.classList.add('over');
    }

    // ------------------------------------------------------------------ chat
    function showMessage(m) {
      var list = $(root, '.vc-messages');
      if (list.querySelector('[data-client-id="' + m.client_id + '"]')) return;
      var item = el('li', 'vc-message' + (m.from === me ? ' mine' : '')); item.dataset.clientId = m.client_id;
      item.appendChild(el('b', null, m.name + ': ')); item.appendChild(document.createTextNode(m.text));
      list.appendChild(item); list.scrollTop = list.scrollHeight;
    }
    $(root, '.vc-chat-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var input = this.elements.text, text = input.value.trim();
      if (!text) return;
      ask('message', {client_id: uid(), text: text}).then(function (answer) {
        if (answer.ok) { showMessage(answer.message); input.value = ''; } else say(answer.error);
      });
    });

    // ------------------------------------------------------------------ files
    var folder = null;
    function loadFiles() {
      fetch(root.dataset.filesUrl, {credentials: 'same-origin'}).then(function (r) { return r.json(); }).then(function (data) {
        var nav = $(root, '.vc-folders'); nav.textContent = '';
        folder = folder || (data.folders.find(function (f) { return f.files.length; }) || data.folders[0]).code;
        data.folders.forEach(function (f) {
          var b = button('vc-folder' + (f.code === folder ? ' current' : ''), f.title + ' (' + f.files.length + ')', function () { folder = f.code; loadFiles(); });
          b.dataset.folder = f.code; b.setAttribute('aria-pressed', String(f.code === folder)); nav.appendChild(b);
        });
        var list = $(root, '.vc-file-list'); list.textContent = '';
        var current = data.folders.find(function (f) { return f.code === folder; });
        if (!current.files.length) list.appendChild(el('li', 'muted', T.empty));
        current.files.forEach(function (file) {
          var li = el('li'), a = el('a', null, file.name); a.href = file.url; li.appendChild(a);
          li.appendChild(el('span', 'muted', ' ' + Math.max(1, Math.round(file.size / 1024)) + ' КБ')); list.appendChild(li);
        });
      });
    }
    $(root, '.vc-upload').addEventListener('submit', function (e) {
      e.preventDefault();
      var form = this, body = new FormData(form);
      var token = document.querySelector('meta[name="csrf-token"]').content;
      fetch(root.dataset.filesUrl, {method: 'POST', body: body, credentials: 'same-origin',
                                    headers: {'X-CSRFToken': token, 'Accept': 'application/json'}})
        .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
        .then(function (result) {
          if (!result.ok) { say(result.data.error || result.data.message || T.offline); return; }
          say(T.uploaded); folder = 'video'; form.reset(); loadFiles();
        });
    });

    // ------------------------------------------------------------------ toolbar
    $(root, '.vc-mic').addEventListener('click', function () {
      ask('set', {muted: !mine().muted});
    });
    $(root, '.vc-cam').addEventListener('click', function () {
      ask('set', {camera_off: !mine().camera_off});
    });
    $(root, '.vc-broadcast').addEventListener('change', function () { ask('set', {paused: !this.checked}); });
    // «Выйти» works in every state (waiting alone, after the end, refused): out of the
    // room, the camera off, back to the consultation's chat.
    $(root, '.vc-leave').addEventListener('click', function () {
      var wasOver = over;
      stop();
      (wasOver || !me ? Promise.resolve() : ask('leave')).then(function () {
        socket.close();
        if (root.dataset.chatUrl) location.assign(root.dataset.chatUrl);
        else if (history.length > 1) history.back(); else say(T.ended);
      });
    });
    [$(root, '.vc-mic-device'), $(root, '.vc-cam-device')].forEach(function (select) {
      select.addEventListener('change', function () {
        media().then(function (stream) {
          if (local) local.getTracks().forEach(function (t) { t.stop(); });
          local = stream; if (backend) backend.setLocal(stream); render();
        });
      });
    });

    // ------------------------------------------------------------------ quality
    var qualityEl = $(root, '.vc-quality');
    setInterval(function () {
      if (startedAt) {
        var s = Math.max(0, Math.floor((Date.now() - startedAt) / 1000));
        $(root, '.vc-duration').textContent = String(Math.floor(s / 60)).padStart(2, '0') + ':' + String(s % 60).padStart(2, '0');
      }
    }, 1000);
    setInterval(function () {
      if (!backend) return;
      backend.stats().then(function (peers) {
        if (!peers.length) return;
        var figures = {rtt_ms: null, jitter_ms: null, loss: 0, fps: null};
        var frames = 0;
        peers.forEach(function (p) {
          frames += p.framesDecoded;
          if (p.rtt_ms != null) figures.rtt_ms = Math.max(figures.rtt_ms || 0, p.rtt_ms);
          if (p.jitter_ms != null) figures.jitter_ms = Math.max(figures.jitter_ms || 0, p.jitter_ms);
          figures.loss = Math.max(figures.loss, p.loss || 0);
          if (p.fps != null) figures.fps = figures.fps == null ? p.fps : Math.min(figures.fps, p.fps);
        });
        api.lastStats = {peers: peers, framesDecoded: frames};
        if (frames > 0 && !setupReported && acceptedAt) {
          figures.setup_ms = Math.round(performance.now() - acceptedAt); setupReported = true;
        }
        Object.keys(figures).forEach(function (k) { if (figures[k] == null) delete figures[k]; });
        ask('stats', figures).then(function (answer) {
          if (!answer.ok) return;
          qualityEl.dataset.mark = answer.mark;
          qualityEl.textContent = T.quality + ': ' + T[answer.mark];
          if (answer.mark === 'poor') say(T.poorOther);
          else if (notice.textContent === T.poorOther) say('');
        });
      });
    }, 2000);

    return api;
  }

  window.TeleconsultVideo = {room: room};
})();
