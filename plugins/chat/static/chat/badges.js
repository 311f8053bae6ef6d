/* Live unread circles and grey closed items on every list of consultations: the chat's
 * «Сообщения», the portal's «Чат с врачом», the workplace's «Входящие», «Исходящие»,
 * «Заявки» (SPEC P3, D7). The markup it relies on is described by the core hook
 * teleconsult_register_list_scripts. On connecting (and after every reconnect) the
 * server sends `counts` with the current numbers, so a page from a stale cache or one that
 * lost its connection catches up; then `unread {chat, unread[, closed]}` moves them. */
(function () {
  'use strict';

  function items(root) {
    var found = {};
    Array.prototype.forEach.call(root.querySelectorAll('[data-consultation]'), function (item) {
      found[item.getAttribute('data-consultation')] = item;
    });
    return found;
  }

  function showUnread(root, item, count) {
    var badge = item.querySelector('[data-badge]');
    if (!count) {
      if (badge) { badge.remove(); }
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.setAttribute('data-badge', '');
      badge.className = root.dataset.badgeClass || 'badge';
      if (root.dataset.badgeTitle) { badge.title = root.dataset.badgeTitle; }
      var after = item.querySelector('[data-badge-after]');
      if (after) { after.insertAdjacentElement('afterend', badge); } else { item.appendChild(badge); }
    }
    badge.textContent = String(count);
    if (root.dataset.badgeLabel) { badge.setAttribute('aria-label', root.dataset.badgeLabel.replace('{n}', count)); }
  }

  function showClosed(root, item) {
    item.classList.add('closed');
    var note = item.querySelector('[data-closed-note]');
    if (note) { note.hidden = false; }
    var status = item.querySelector('[data-status]');
    if (status && root.dataset.closedStatus) {
      status.textContent = root.dataset.closedStatus;
      status.className = status.className.replace(/\bstatus-\S+/, 'status-closed');
    }
  }

  /* Follow the counters of the items under `root` on `socket` (a socket.io client on /chat). */
  function attach(root, socket) {
    var byId = items(root);
    socket.on('counts', function (data) {
      var unread = (data && data.unread) || {};
      Object.keys(byId).forEach(function (id) { showUnread(root, byId[id], unread[id] || 0); });
      ((data && data.closed) || []).forEach(function (id) {
        if (byId[id]) { showClosed(root, byId[id]); }
      });
    });
    socket.on('unread', function (data) {
      var item = byId[data.chat];
      if (!item) { return; }
      showUnread(root, item, data.unread);
      if (data.closed) { showClosed(root, item); }
    });
    /* Access to a consultation ended (a legal representative's link to the child): its
     * item goes from the list at once, title, number and circle with it. */
    socket.on('access_lost', function (data) {
      var item = data && byId[data.chat];
      if (!item) { return; }
      item.remove();
      delete byId[data.chat];
    });
    return byId;
  }

  /* One socket for the lists of the page; it names their items so that `counts` says
   * which of them closed meanwhile. */
  function start() {
    var roots = document.querySelectorAll('[data-consultation-list]');
    if (!roots.length || typeof io === 'undefined') { return null; }
    var ids = [];
    Array.prototype.forEach.call(roots, function (root) {
      Array.prototype.forEach.call(root.querySelectorAll('[data-consultation]'), function (item) {
        var id = parseInt(item.getAttribute('data-consultation'), 10);
        if (id > 0) { ids.push(id); }
      });
    });
    var socket = io('/chat', {
      transports: ['websocket', 'polling'], reconnectionDelayMax: 5000, auth: { chats: ids }
    });
    Array.prototype.forEach.call(roots, function (root) { attach(root, socket); });
    window.TeleconsultChatBadges.socket = socket;
    socket.on('session_ended', function () {
      socket.io.opts.reconnection = false;
      socket.disconnect();
      window.location.reload();
    });
    /* Nothing of the chat any more (a new consent to accept): the page asks for it. */
    socket.on('access_lost', function (data) {
      if (data && data.all) { window.location.reload(); }
    });
    return socket;
  }

  window.TeleconsultChatBadges = { attach: attach, start: start };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
