/* «Врач … вызывает вас» in every open tab of the patient (SPEC P5): green «Принять»
 * opens the call window, red «Отклонить» tells the doctor at once.
 *
 * While the call rings, the call window is made ready in this page: its HTML is fetched
 * and its scripts run (they only define things: no camera, no socket of their own). On
 * «Принять» the window's content replaces this page's (the address becomes the call
 * window's) and the room joins over this page's /video socket, already connected. The
 * camera is asked for only then, after the click. When anything is not ready (or this
 * page has media of its own: the pre-call check), «Принять» is a plain link. */
(function () {
  'use strict';
  if (window.TeleconsultVideoPopup || typeof io === 'undefined') return;
  // The call window has its own socket: a second one would only slow its set-up.
  if (document.getElementById('video-room')) return;
  var ru = document.documentElement.lang !== 'en';
  var TEXT = ru ? {calls: 'Врач %s вызывает вас', accept: 'Принять', decline: 'Отклонить', title: 'Видеозвонок',
                   check: 'Проверка связи'}
                : {calls: 'Doctor %s is calling you', accept: 'Accept', decline: 'Decline', title: 'Video call',
                   check: 'Check camera and connection'};
  var socket = io('/video', {transports: ['websocket']});
  var shown = {};

  function close(consultationId) {
    var box = shown[consultationId];
    if (box) { box.remove(); delete shown[consultationId]; }
  }

  var fetched = {}, prepared = {}, opening = false;
  // This page holds no media of its own and has the layout the call window has.
  var canOpenHere = !/^\/video\//.test(location.pathname) && !!document.querySelector('main.content');

  function loadScript(url) {
    return new Promise(function (resolve, reject) {
      var found = Array.prototype.find.call(document.scripts, function (s) { return s.src && new URL(s.src, location.href).pathname === new URL(url, location.href).pathname; });
      if (found) { resolve(); return; }
      var script = document.createElement('script');
      script.src = url; script.async = false;
      script.onload = function () { resolve(); }; script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function loadStyle(url) {
    return new Promise(function (resolve) {
      var path = new URL(url, location.href).pathname;
      var found = Array.prototype.find.call(document.querySelectorAll('link[rel=stylesheet]'), function (l) { return new URL(l.href, location.href).pathname === path; });
      if (found) { resolve(); return; }
      var link = document.createElement('link'); link.rel = 'stylesheet'; link.href = url;
      link.onload = link.onerror = function () { resolve(); };
      document.head.appendChild(link);
    });
  }

  // The call window's HTML and its scripts, in the order its page loads them.
  function prepare(m) {
    var scripts = (m.assets || []).filter(function (u) { return /\.js(\?|$)/.test(u); });
    var page = fetch(m.url, {credentials: 'same-origin', headers: {'Accept': 'text/html'}}).then(function (r) {
      if (!r.ok || r.redirected) throw new Error('call window ' + r.status);
      return r.text();
    });
    var code = Promise.all(scripts.map(loadScript));
    prepared[m.consultation_id] = Promise.all([page, code]).then(function (done) {
      var doc = new DOMParser().parseFromString(done[0], 'text/html');
      if (!doc.getElementById('video-room') || !doc.querySelector('main.content') || !window.TeleconsultVideo) throw new Error('no call window');
      return doc;
    });
    prepared[m.consultation_id].catch(function () { delete prepared[m.consultation_id]; });
  }

  // «Принять» here: the call window's content in place of this page's, over this socket.
  function openHere(m, doc) {
    var styles = Array.prototype.map.call(doc.querySelectorAll('head link[rel=stylesheet]'), function (l) { return l.getAttribute('href'); });
    return Promise.all(styles.map(loadStyle)).then(function () {
      // Page scripts let go of what they hold (the chat's socket, its read marks).
      document.dispatchEvent(new CustomEvent('teleconsult:page-replaced', {detail: {url: m.url}}));
      Object.keys(shown).forEach(close);
      var main = document.querySelector('main.content');
      main.replaceWith(document.importNode(doc.querySelector('main.content'), true));
      document.title = doc.title;
      history.pushState({video: m.consultation_id}, '', m.url);
      // Back (or forward) leaves the call window as a navigation would.
      addEventListener('popstate', function () { location.reload(); });
      window.TeleconsultVideo.room(document.getElementById('video-room'), {socket: socket});
    });
  }

  socket.on('ringing', function (m) {
    if (shown[m.consultation_id] || document.getElementById('video-room')) return;
    // The call window's scripts are in the cache before «Принять» is pressed.
    (m.assets || []).forEach(function (url) {
      if (fetched[url]) return;
      fetched[url] = true;
      var link = document.createElement('link'); link.rel = 'prefetch'; link.href = url; document.head.appendChild(link);
    });
    if (canOpenHere && window.fetch && window.DOMParser && !prepared[m.consultation_id]) prepare(m);
    var box = document.createElement('div');
    box.className = 'video-popup'; box.setAttribute('role', 'alertdialog'); box.setAttribute('aria-live', 'assertive');
    box.dataset.consultation = m.consultation_id;
    var text = document.createElement('p'); text.className = 'video-popup-text';
    text.textContent = TEXT.calls.replace('%s', m.doctor);
    var sub = document.createElement('p'); sub.className = 'video-popup-sub'; sub.textContent = m.title;
    var accept = document.createElement('a'); accept.className = 'video-popup-accept'; accept.href = m.url;
    accept.setAttribute('aria-label', TEXT.accept); accept.title = TEXT.accept; accept.textContent = TEXT.accept;
    accept.addEventListener('click', function (e) {
      var ready = prepared[m.consultation_id];
      if (opening) { e.preventDefault(); return; }
      if (!ready || !socket.connected || e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;  // the link
      e.preventDefault();
      opening = true;
      accept.setAttribute('aria-disabled', 'true');
      ready.then(function (doc) { return openHere(m, doc); }).catch(function () { location.assign(m.url); });
    });
    var decline = document.createElement('button'); decline.type = 'button'; decline.className = 'video-popup-decline';
    decline.setAttribute('aria-label', TEXT.decline); decline.title = TEXT.decline; decline.textContent = TEXT.decline;
    decline.addEventListener('click', function () {
      socket.emit('decline', {consultation_id: m.consultation_id}, function () { close(m.consultation_id); });
    });
    var buttons = document.createElement('div'); buttons.className = 'video-popup-buttons';
    buttons.appendChild(accept); buttons.appendChild(decline);
    box.appendChild(text); box.appendChild(sub); box.appendChild(buttons);
    if (m.check_url && location.pathname !== m.check_url) {  // the call keeps ringing on the check page
      var check = document.createElement('a'); check.className = 'video-popup-check'; check.href = m.check_url;
      check.textContent = TEXT.check; box.appendChild(check);
    }
    document.body.appendChild(box);
    shown[m.consultation_id] = box;
    accept.focus();
  });
  socket.on('call_over', function (m) { close(m.consultation_id); delete prepared[m.consultation_id]; });
  socket.on('ring_over', function (m) { close(m.consultation_id); });
  window.TeleconsultVideoPopup = {socket: socket};

  var style = document.createElement('style');
  style.textContent = [
    '.video-popup{position:fixed;z-index:1000;right:1rem;bottom:1rem;max-width:min(24rem,calc(100vw - 2rem));',
    'background:#fff;border-radius:.8rem;box-shadow:0 6px 24px rgba(0,0,0,.25);padding:1rem 1.2rem;font-size:1rem}',
    '.video-popup-text{font-weight:600;margin:0 0 .3rem}.video-popup-sub{margin:0 0 .8rem;color:#5b6577}',
    '.video-popup-buttons{display:flex;gap:.8rem}',
    '.video-popup-check{display:inline-block;margin-top:.7rem;color:#1a4f8b}',
    '.video-popup-accept,.video-popup-decline{flex:1;display:inline-flex;align-items:center;justify-content:center;gap:.4rem;',
    'min-height:2.8rem;border:0;border-radius:1.4rem;color:#fff;font-size:1rem;text-decoration:none;cursor:pointer}',
    '.video-popup-accept{background:#1e8e3e}.video-popup-decline{background:#c5221f}',
    '.video-popup-accept::before,.video-popup-decline::before{content:"\\260E";font-size:1.2rem}',
    '.video-popup-decline::before{display:inline-block;transform:rotate(135deg)}'
  ].join('');
  document.head.appendChild(style);
})();
