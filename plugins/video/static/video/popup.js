/* «Врач … вызывает вас» in every open tab of the patient (SPEC P5): green «Принять»
 * opens the call window, red «Отклонить» tells the doctor at once. */
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

  var fetched = {};
  socket.on('ringing', function (m) {
    if (shown[m.consultation_id]) return;
    // The call window's scripts are in the cache before «Принять» is pressed.
    (m.assets || []).forEach(function (url) {
      if (fetched[url]) return;
      fetched[url] = true;
      var link = document.createElement('link'); link.rel = 'prefetch'; link.href = url; document.head.appendChild(link);
    });
    var box = document.createElement('div');
    box.className = 'video-popup'; box.setAttribute('role', 'alertdialog'); box.setAttribute('aria-live', 'assertive');
    box.dataset.consultation = m.consultation_id;
    var text = document.createElement('p'); text.className = 'video-popup-text';
    text.textContent = TEXT.calls.replace('%s', m.doctor);
    var sub = document.createElement('p'); sub.className = 'video-popup-sub'; sub.textContent = m.title;
    var accept = document.createElement('a'); accept.className = 'video-popup-accept'; accept.href = m.url;
    accept.setAttribute('aria-label', TEXT.accept); accept.title = TEXT.accept; accept.textContent = TEXT.accept;
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
  socket.on('call_over', function (m) { close(m.consultation_id); });
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
