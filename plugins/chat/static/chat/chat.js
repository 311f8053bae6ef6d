/* The chat window (SPEC D7, P3, P4, P6); the lists' badges are in badges.js.
 * Messages are shown with textContent: markup in a message is displayed, never run.
 * Sending: a client id per message, a pending bubble, an ack with a timeout, a retry
 * button on failure, and an automatic resend of everything pending after a reconnect
 * (the server stores a client id once). After a reconnect the window asks for every
 * message after the last sequence number it holds. */
(function () {
  'use strict';

  var TZ = 'Europe/Moscow';
  var timeFormat = new Intl.DateTimeFormat('ru-RU', {
    timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit'
  });

  function formatTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? '' : timeFormat.format(date) + ' МСК';
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function connect() {
    return io('/chat', { transports: ['websocket', 'polling'], reconnectionDelayMax: 5000 });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function sessionEnded(socket, statusNode, text) {
    socket.io.opts.reconnection = false;
    socket.disconnect();
    if (statusNode) { statusNode.textContent = text; }
    setTimeout(function () { window.location.reload(); }, 1500);
  }

  /* ---------------------------------------------------------------- the window */
  function chatWindow(root) {
    if (!root || typeof io === 'undefined') { return; }
    var texts = document.getElementById('chat-texts').dataset;
    var chatId = parseInt(root.dataset.chat, 10);
    var myMember = parseInt(root.dataset.member, 10);
    var mySide = root.dataset.side;
    var otherSide = mySide === 'staff' ? 'patient' : 'staff';
    var list = root.querySelector('.chat-messages');
    var statusNode = root.querySelector('.chat-status');
    var form = root.querySelector('.chat-composer');
    var seqs = {};            // seq -> node
    var lastSeq = 0;          // highest contiguous seq held
    var maxSeq = 0;
    var otherRead = parseInt(root.dataset['read' + otherSide.charAt(0).toUpperCase() + otherSide.slice(1)], 10) || 0;
    var myRead = parseInt(root.dataset.myRead, 10) || 0;
    var pending = {};         // client id -> {text, node, state}
    var closed = root.classList.contains('closed');

    Array.prototype.forEach.call(list.querySelectorAll('.msg'), function (node) {
      var seq = parseInt(node.dataset.seq, 10);
      seqs[seq] = node;
      node.querySelector('.msg-time').textContent = formatTime(node.querySelector('time').getAttribute('datetime'));
      maxSeq = Math.max(maxSeq, seq);
    });
    lastSeq = maxSeq;
    refreshReadMarks();

    function refreshReadMarks() {
      Array.prototype.forEach.call(list.querySelectorAll('.msg.mine'), function (node) {
        var seq = parseInt(node.dataset.seq, 10);
        if (seq) { node.querySelector('.msg-state').textContent = seq <= otherRead ? texts.read : texts.sent; }
      });
    }

    function fileType(name) {
      var dot = name.lastIndexOf('.');
      var extension = dot >= 0 ? name.slice(dot + 1) : '';
      return /^[a-z0-9]+$/i.test(extension) ? extension.slice(0, 4).toUpperCase() : texts.file;
    }

    function render(m) {
      var mine = m.member === myMember;
      var node = el('li', 'msg msg-' + m.kind + (mine ? ' mine' : ' theirs') + ' side-' + m.side);
      node.dataset.seq = m.seq;
      node.dataset.clientId = m.client_id || '';
      if (m.kind !== 'system') { node.appendChild(el('div', 'msg-author', m.name)); }
      if (m.file) {
        var file = el('div', 'msg-file');
        if (m.file.type === 'image/png' || m.file.type === 'image/jpeg') {
          // An image shows as a picture, through the same authorised address as its download.
          var thumb = el('a', 'msg-thumb');
          thumb.href = m.file.view_url; thumb.target = '_blank'; thumb.rel = 'noopener';
          thumb.setAttribute('aria-label', texts.openImage.replace('{name}', m.file.name));
          var picture = document.createElement('img');
          picture.src = m.file.view_url; picture.alt = ''; picture.loading = 'lazy';
          picture.width = 160; picture.height = 120;
          thumb.appendChild(picture);
          file.appendChild(thumb);
        } else if (m.kind !== 'system') {
          var kind = el('span', 'msg-type', fileType(m.file.name));
          kind.setAttribute('aria-hidden', 'true');
          file.appendChild(kind);
        }
        var link = el('a', '', m.file.name);
        link.href = m.file.url;
        link.setAttribute('download', '');
        file.appendChild(link);
        file.appendChild(el('span', 'msg-size', ' (' + (m.file.size / 1024).toFixed(1) + ' ' + texts.kb + ')'));
        node.appendChild(file);
      }
      node.appendChild(el('div', 'msg-text', m.text));
      if (m.kind === 'system' && m.data && m.data.conclusion && m.data.conclusion.length) {
        var list = el('dl', 'msg-conclusion');
        m.data.conclusion.forEach(function (item) {
          list.appendChild(el('dt', '', item[0]));
          list.appendChild(el('dd', '', item[1]));
        });
        node.appendChild(list);
      }
      if (m.kind === 'system' && m.file) {
        var actions = el('div', 'msg-actions');
        var view = el('a', '', texts.view);
        view.href = m.file.view_url; view.target = '_blank'; view.rel = 'noopener';
        var download = el('a', '', texts.download);
        download.href = m.file.url; download.setAttribute('download', '');
        actions.appendChild(view); actions.appendChild(document.createTextNode(' · ')); actions.appendChild(download);
        node.appendChild(actions);
      }
      var foot = el('div', 'msg-foot');
      var time = el('time', 'msg-time', formatTime(m.at));
      time.setAttribute('datetime', m.at);
      foot.appendChild(time);
      foot.appendChild(el('span', 'msg-state', mine ? (m.seq <= otherRead ? texts.read : texts.sent) : ''));
      node.appendChild(foot);
      return node;
    }

    function nearBottom() {
      return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    }

    /* Insert a stored message in sequence order; duplicates (replay + broadcast) are dropped. */
    function add(m) {
      if (m.chat !== chatId || seqs[m.seq]) { return; }
      var stick = nearBottom();
      var node = render(m);
      if (m.client_id && pending[m.client_id]) {
        pending[m.client_id].node.remove();
        delete pending[m.client_id];
      }
      var after = null;
      Object.keys(seqs).forEach(function (s) {
        s = parseInt(s, 10);
        if (s > m.seq && (after === null || s < after)) { after = s; }
      });
      if (after !== null) { list.insertBefore(node, seqs[after]); }
      else {
        var firstPending = list.querySelector('.msg.pending');
        list.insertBefore(node, firstPending);
      }
      seqs[m.seq] = node;
      maxSeq = Math.max(maxSeq, m.seq);
      while (seqs[lastSeq + 1]) { lastSeq += 1; }
      if (m.kind === 'system' && m.data && m.data.event === 'completed') { markClosed(); }
      if (stick || m.member === myMember) { list.scrollTop = list.scrollHeight; }
      if (lastSeq < maxSeq) { catchUp(); }
      markRead();
    }

    var catchingUp = false;
    function catchUp() {
      if (catchingUp) { return; }
      catchingUp = true;
      socket.emit('history', { chat: chatId, after: lastSeq }, function (reply) {
        catchingUp = false;
        if (reply && reply.ok) {
          reply.messages.forEach(add);
          if (reply.more) { catchUp(); }
        }
      });
    }

    /* The highest message the user has had in view, in order: a message counts as read
     * once a line of it has been on screen (the window opens at the first unread one, and
     * what is still below stays unread until scrolled to). */
    function shownSeq() {
      var bottom = list.getBoundingClientRect().bottom;
      var shown = myRead;
      var held = Object.keys(seqs).map(Number).filter(function (s) { return s > myRead && s <= lastSeq; });
      held.sort(function (a, b) { return a - b; });
      for (var i = 0; i < held.length; i++) {
        var box = seqs[held[i]].getBoundingClientRect();
        if (box.top + Math.min(box.height, 24) > bottom) { break; }
        shown = held[i];
      }
      return shown;
    }

    var readTimer = null;
    function markRead() {
      if (document.hidden || readTimer) { return; }
      readTimer = setTimeout(function () {
        readTimer = null;
        var seq = shownSeq();
        if (seq > myRead && socket && socket.connected) {
          socket.emit('read', { chat: chatId, seq: seq }, function (reply) {
            if (reply && reply.ok) { myRead = Math.max(myRead, reply.seq); }
          });
        }
      }, 300);
    }
    document.addEventListener('visibilitychange', markRead);
    list.addEventListener('scroll', markRead, { passive: true });

    function markClosed() {
      closed = true;
      root.classList.add('closed');
      if (form) {
        form.hidden = true;
        var note = root.querySelector('.chat-closed-note[hidden]');
        if (note) { note.hidden = false; }
      }
    }

    /* ------------------------------------------------------------ sending */
    function setState(entry, state) {
      entry.state = state;
      entry.node.classList.toggle('failed', state === 'failed');
      var stateNode = entry.node.querySelector('.msg-state');
      stateNode.textContent = state === 'failed' ? texts.failed : texts.sending;
      if (state === 'failed') {
        var retry = el('button', 'retry-button', texts.retry);
        retry.type = 'button';
        retry.addEventListener('click', function () { sendPending(entry); });
        stateNode.appendChild(document.createTextNode(' '));
        stateNode.appendChild(retry);
      }
    }

    function sendPending(entry) {
      setState(entry, 'sending');
      socket.timeout(10000).emit('send', { chat: chatId, client_id: entry.clientId, text: entry.text }, function (err, reply) {
        if (err || !reply) { setState(entry, 'failed'); return; }
        if (!reply.ok) {
          setState(entry, 'failed');
          entry.node.querySelector('.msg-state').insertBefore(document.createTextNode(reply.error + ' '), null);
          if (reply.status === 409) { markClosed(); }
          return;
        }
        add(reply.message);
      });
    }

    if (form) {
      var textarea = form.querySelector('textarea');
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        var text = textarea.value.trim();
        if (!text || closed) { return; }
        var clientId = newClientId();
        var node = el('li', 'msg msg-text mine pending side-' + mySide);
        node.appendChild(el('div', 'msg-text', text));
        var foot = el('div', 'msg-foot');
        foot.appendChild(el('span', 'msg-state', texts.sending));
        node.appendChild(foot);
        list.appendChild(node);
        list.scrollTop = list.scrollHeight;
        var entry = { clientId: clientId, text: text, node: node, state: 'sending' };
        pending[clientId] = entry;
        textarea.value = '';
        sendPending(entry);
      });
      textarea.addEventListener('keydown', function (event) {
        if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
      });

      /* «+» → «Загрузить файлы» */
      var plus = form.querySelector('.plus-button');
      var menu = form.querySelector('.plus-menu');
      var input = form.querySelector('.file-input');
      plus.addEventListener('click', function () {
        menu.hidden = !menu.hidden;
        plus.setAttribute('aria-expanded', String(!menu.hidden));
      });
      form.querySelector('.upload-button').addEventListener('click', function () {
        menu.hidden = true;
        input.click();
      });
      input.addEventListener('change', function () {
        var files = Array.prototype.slice.call(input.files);
        input.value = '';
        if (!files.length) { return; }
        var maxFiles = parseInt(root.dataset.maxFiles, 10);
        var maxSize = parseInt(root.dataset.maxSizeMb, 10) * 1024 * 1024;
        if (files.length > maxFiles) { statusNode.textContent = texts.tooMany; return; }
        for (var i = 0; i < files.length; i++) {
          if (files[i].size > maxSize) { statusNode.textContent = files[i].name + ': ' + texts.tooBig; return; }
        }
        upload(files, newClientId());
      });
    }

    function upload(files, clientId) {
      var data = new FormData();
      files.forEach(function (file) { data.append('files', file, file.name); });
      data.append('client_id', clientId);
      statusNode.textContent = texts.uploading;
      fetch(root.dataset.uploadUrl, {
        method: 'POST', body: data, credentials: 'same-origin',
        headers: { 'X-CSRFToken': csrfToken(), 'Accept': 'application/json' }
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      }).then(function (result) {
        if (!result.ok) {
          statusNode.textContent = (result.body.error && result.body.error.message) || texts.failed;
          return;
        }
        statusNode.textContent = '';
        result.body.messages.forEach(add);
      }).catch(function () {
        statusNode.textContent = texts.failed;
        var retry = el('button', 'retry-button', texts.retry);
        retry.type = 'button';
        retry.addEventListener('click', function () { upload(files, clientId); });
        statusNode.appendChild(document.createTextNode(' '));
        statusNode.appendChild(retry);
      });
    }

    /* ------------------------------------------------------------ older pages */
    var older = root.querySelector('.chat-older');
    older.addEventListener('click', function () {
      var first = Object.keys(seqs).map(Number).sort(function (a, b) { return a - b; })[0] || (lastSeq + 1);
      fetch(root.dataset.messagesUrl + '?before=' + first, { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          var height = list.scrollHeight;
          body.messages.forEach(function (m) {
            if (seqs[m.seq]) { return; }
            var node = render(m);
            var after = null;
            Object.keys(seqs).forEach(function (s) { s = parseInt(s, 10); if (s > m.seq && (after === null || s < after)) { after = s; } });
            list.insertBefore(node, after === null ? null : seqs[after]);
            seqs[m.seq] = node;
          });
          list.scrollTop += list.scrollHeight - height;
          older.hidden = !body.more;
        });
    });

    /* ------------------------------------------------------------ the socket */
    var socket = connect();
    socket.on('connect', function () {
      statusNode.textContent = '';
      socket.emit('join', { chat: chatId, after: lastSeq }, function (reply) {
        if (!reply || !reply.ok) { statusNode.textContent = (reply && reply.error) || texts.lost; return; }
        otherRead = Math.max(otherRead, reply.read[otherSide] || 0);
        reply.messages.forEach(add);
        if (reply.more) { catchUp(); }
        if (reply.closed) { markClosed(); }
        refreshReadMarks();
        Object.keys(pending).forEach(function (id) { sendPending(pending[id]); });
        markRead();
      });
    });
    socket.on('disconnect', function () { statusNode.textContent = texts.offline; });
    socket.on('connect_error', function () { statusNode.textContent = texts.offline; });
    socket.on('message', add);
    // The server's queue listener was away: events may have been lost; ask for them.
    socket.on('resync', catchUp);
    socket.on('read', function (data) {
      if (data.chat !== chatId) { return; }
      if (data.side === otherSide) { otherRead = Math.max(otherRead, data.seq); refreshReadMarks(); }
      if (data.member === myMember) { myRead = Math.max(myRead, data.seq); }
    });
    socket.on('closed', function (data) { if (data.chat === chatId) { markClosed(); } });
    socket.on('session_ended', function () { sessionEnded(socket, statusNode, texts.ended); });
    socket.on('access_lost', function (data) {
      if (data.chat === chatId || data.all) { statusNode.textContent = texts.lost; markClosed(); }
    });
    /* Another page's content took this one's place (the call window opened from the
     * popup): the window is gone, so nothing is marked read and the socket closes. */
    document.addEventListener('teleconsult:page-replaced', function () {
      clearTimeout(readTimer);
      socket.io.opts.reconnection = false;
      socket.disconnect();
    });

    /* Scroll to the first unread message, else to the bottom. */
    var firstUnread = list.querySelector('.unread-divider');
    if (firstUnread) { firstUnread.scrollIntoView({ block: 'start' }); }
    else { list.scrollTop = list.scrollHeight; }
  }

  window.TeleconsultChat = { window: chatWindow, formatTime: formatTime };
}());
