/* «Доска» of the call window (SPEC D8): fabric.js draws, the server's numbered log of
   operations is the truth (plugins/video/board.py, docs/video.md).

   Every operation the user makes gets its own client id, is drawn at once on top and
   goes into an outbox sent one at a time; the server's answer gives its number, and the
   objects of numbered operations are stacked in number order, so every participant's
   board ends up the same. Operations of others come as `board_op`; a gap in the numbers,
   a late join or a reconnect asks `board_sync` for everything after the last number
   held. What was sent but not answered (a reconnect mid-stroke) is sent again: the
   server stores it once, by its client id. */
(function () {
  'use strict';

  var W = 1600, H = 900;  // the board's own coordinates (plugins/video/board.py)
  var SHAPES = {line: 1, arrow: 1, rect: 1, ellipse: 1};
  var PATH_ARITY = {M: 2, L: 2, Q: 4, C: 6}, MAX_PATH = 4000;

  function uid() { return (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/-/g, ''); }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
  function r2(v) { return Math.round(v * 100) / 100; }
  function cx(v) { return r2(clamp(v, 0, W)); }
  function cy(v) { return r2(clamp(v, 0, H)); }

  function arrowPath(d) {
    var dx = d.x2 - d.x1, dy = d.y2 - d.y1, len = Math.hypot(dx, dy) || 1, head = Math.max(14, d.width * 4);
    var ux = dx / len, uy = dy / len, bx = d.x2 - ux * head, by = d.y2 - uy * head, px = -uy * head / 2, py = ux * head / 2;
    return [['M', d.x1, d.y1], ['L', d.x2, d.y2], ['M', bx + px, by + py], ['L', d.x2, d.y2], ['L', bx - px, by - py]];
  }

  /* The fabric object of a drawing operation: the same for everyone who replays it. */
  function build(kind, d) {
    var common = {stroke: d.color, strokeWidth: d.width, fill: null, strokeLineCap: 'round', strokeLineJoin: 'round',
                  selectable: false, evented: true, perPixelTargetFind: true, objectCaching: false};
    var box = {left: d.x, top: d.y, originX: 'left', originY: 'top'};
    switch (kind) {
      case 'path': return new fabric.Path(d.path, common);
      case 'line': return new fabric.Line([d.x1, d.y1, d.x2, d.y2], common);
      case 'arrow': return new fabric.Path(arrowPath(d), common);
      case 'rect': return new fabric.Rect(Object.assign({width: d.w, height: d.h}, box, common));
      case 'ellipse': return new fabric.Ellipse(Object.assign({rx: d.w / 2, ry: d.h / 2}, box, common));
      case 'text': return new fabric.FabricText(d.text, Object.assign({fontSize: d.size, fill: d.color,
        fontFamily: 'DejaVu Sans, Arial, sans-serif', selectable: false, evented: true}, box));
    }
    return null;
  }

  function create(section, host) {
    var T = host.texts;
    var stage = section.querySelector('.vc-board-stage');
    var canvas = new fabric.Canvas(section.querySelector('.vc-board-canvas'), {
      selection: false, backgroundColor: '#ffffff', preserveObjectStacking: true, targetFindTolerance: 6,
      defaultCursor: 'crosshair', hoverCursor: 'crosshair'
    });
    var tool = 'pen', colour = '#1f2937', width = 4;
    var last = 0;          // the highest number applied: everything up to it is on screen
    var early = {};        // numbered operations that came ahead of a gap
    var objects = {};      // number -> fabric object on the board
    var order = [];        // numbers of the objects on the board, bottom to top
    var pending = {};      // client id -> object drawn here, its number not known yet
    var outbox = [];       // operations not answered yet, in the order they were made
    var undoing = {};      // numbers an undo was sent for
    var online = false, sending = false, generation = 0, syncing = null;

    // ------------------------------------------------------------ the log
    function apply(op) {
      var d = op.data;
      if (op.kind === 'clear') {
        order.forEach(function (s) { canvas.remove(objects[s]); });
        order = []; objects = {};
      } else if (op.kind === 'erase' || op.kind === 'undo') {
        var gone = objects[d.target];
        if (gone) { canvas.remove(gone); delete objects[d.target]; order.splice(order.indexOf(d.target), 1); }
      } else {
        var obj = pending[op.client_id] || build(op.kind, d);
        delete pending[op.client_id];
        obj.boardSeq = op.seq; obj.boardBy = op.by; obj.boardKind = op.kind;
        if (canvas.getObjects().indexOf(obj) >= 0) canvas.moveObjectTo(obj, order.length);
        else canvas.insertAt(order.length, obj);
        objects[op.seq] = obj; order.push(op.seq);
      }
      last = op.seq;
    }

    function accept(op, quiet) {
      if (op.seq > last) early[op.seq] = op;
      while (early[last + 1]) { var next = early[last + 1]; delete early[last + 1]; apply(next); }
      canvas.requestRenderAll();
      if (!quiet && Object.keys(early).length) sync();  // a gap: fetch what is missing
    }

    function sync() {
      if (!online) return Promise.resolve();
      if (syncing) return syncing;
      var mine = generation;
      syncing = host.ask('board_sync', {after: last}).then(function (answer) {
        if (mine !== generation) return;
        syncing = null;
        if (!answer.ok) { if (!answer.offline) host.say(answer.error); return; }
        answer.ops.forEach(function (op) { accept(op, true); });
        if (answer.more || Object.keys(early).length && answer.last > last) return sync();
      });
      return syncing;
    }

    function drop(op) {
      var obj = pending[op.client_id];
      if (obj) { canvas.remove(obj); delete pending[op.client_id]; canvas.requestRenderAll(); }
      if (op.kind === 'undo') delete undoing[op.data.target];
      if (op.kind === 'erase' && objects[op.data.target]) objects[op.data.target].boardErasing = false;
    }

    function flush() {
      if (!online || sending || !outbox.length || !host.connected()) return;
      sending = true;
      var op = outbox[0], mine = generation;
      host.ask('board_op', op).then(function (answer) {
        if (mine !== generation) {  // answered after a reconnect began: resent anyway
          if (answer.ok) accept(answer.op);
          return;
        }
        sending = false;
        if (answer.offline) { setTimeout(flush, 1000); return; }  // kept; sent again
        outbox.shift();
        if (answer.ok) accept(answer.op); else { host.say(answer.error); drop(op); }
        flush();
      });
    }

    function submit(kind, data, obj) {
      var op = {client_id: uid(), kind: kind, data: data};
      if (obj) {
        pending[op.client_id] = obj;
        if (canvas.getObjects().indexOf(obj) < 0) canvas.add(obj);
        canvas.requestRenderAll();
      }
      outbox.push(op);
      flush();
      return op.client_id;
    }

    // ------------------------------------------------------------ drawing
    function point(opt) { var p = opt.scenePoint || canvas.getScenePoint(opt.e); return {x: cx(p.x), y: cy(p.y)}; }

    function shapeData(kind, a, b) {
      if (kind === 'line' || kind === 'arrow') return {color: colour, width: width, x1: a.x, y1: a.y, x2: b.x, y2: b.y};
      var x = Math.min(a.x, b.x), y = Math.min(a.y, b.y);
      return {color: colour, width: width, x: x, y: y, w: r2(Math.abs(b.x - a.x)), h: r2(Math.abs(b.y - a.y))};
    }

    var start = null, preview = null;
    canvas.on('mouse:down', function (opt) {
      if (tool === 'eraser') {
        var target = opt.target;
        if (target && target.boardSeq && !target.boardErasing) { target.boardErasing = true; submit('erase', {target: target.boardSeq}); }
        return;
      }
      if (tool === 'text') {
        if (opt.target && opt.target.isEditing) return;
        var at = point(opt), size = Math.max(18, width * 6);
        var editor = new fabric.IText('', {left: at.x, top: at.y, originX: 'left', originY: 'top', fontSize: size, fill: colour,
                                           fontFamily: 'DejaVu Sans, Arial, sans-serif'});
        canvas.add(editor); canvas.setActiveObject(editor); editor.enterEditing();
        editor.on('editing:exited', function () {
          var text = (editor.text || '').trim().slice(0, 500);
          canvas.remove(editor);
          if (text) {
            var d = {color: colour, size: size, text: text, x: at.x, y: at.y};
            submit('text', d, build('text', d));
          }
          canvas.requestRenderAll();
        });
        return;
      }
      if (SHAPES[tool]) start = point(opt);
    });
    canvas.on('mouse:move', function (opt) {
      if (!start) return;
      if (preview) canvas.remove(preview);
      preview = build(tool, shapeData(tool, start, point(opt)));
      preview.evented = false;
      canvas.add(preview); canvas.requestRenderAll();
    });
    canvas.on('mouse:up', function (opt) {
      if (!start) return;
      var end = point(opt), data = shapeData(tool, start, end);
      if (preview) { canvas.remove(preview); preview = null; }
      if (Math.hypot(end.x - start.x, end.y - start.y) >= 3) submit(tool, data, build(tool, data));
      start = null; canvas.requestRenderAll();
    });
    canvas.on('path:created', function (e) {
      canvas.remove(e.path);  // drawn again from the operation, as everyone else draws it
      var path = e.path.path.filter(function (c) { return PATH_ARITY[c[0]] === c.length - 1; }).slice(0, MAX_PATH).map(function (c) {
        return [c[0]].concat(c.slice(1).map(function (v, i) { return i % 2 ? cy(v) : cx(v); }));
      });
      if (path.length < 2 || path[0][0] !== 'M') return;
      var d = {color: colour, width: width, path: path};
      submit('path', d, build('path', d));
    });

    function choose(name) {
      tool = name;
      canvas.isDrawingMode = name === 'pen';
      if (canvas.isDrawingMode) {
        var brush = new fabric.PencilBrush(canvas);
        brush.color = colour; brush.width = width; brush.decimate = 2; brush.strokeLineCap = 'round';
        canvas.freeDrawingBrush = brush;
      }
      canvas.hoverCursor = name === 'eraser' ? 'pointer' : 'crosshair';
      Array.prototype.forEach.call(section.querySelectorAll('.vc-tool'), function (b) {
        b.setAttribute('aria-checked', String(b.dataset.tool === name));
      });
    }
    Array.prototype.forEach.call(section.querySelectorAll('.vc-tool'), function (b) {
      b.addEventListener('click', function () { choose(b.dataset.tool); });
    });
    Array.prototype.forEach.call(section.querySelectorAll('.vc-colour'), function (b) {
      b.addEventListener('click', function () {
        colour = b.dataset.color;
        Array.prototype.forEach.call(section.querySelectorAll('.vc-colour'), function (o) { o.setAttribute('aria-checked', String(o === b)); });
        choose(tool);
      });
    });
    section.querySelector('.vc-board-width').addEventListener('change', function () { width = Number(this.value); choose(tool); });

    function undo() {
      for (var i = order.length - 1; i >= 0; i--) {
        var s = order[i];
        if (objects[s].boardBy === host.me() && !undoing[s]) { undoing[s] = true; return submit('undo', {target: s}); }
      }
      return null;
    }
    section.querySelector('.vc-board-undo').addEventListener('click', undo);
    section.querySelector('.vc-board-clear').addEventListener('click', function () {
      if (window.confirm(T.boardClear)) submit('clear', {});
    });

    function exportPng() {
      return new Promise(function (resolve) {
        canvas.toCanvasElement(W / canvas.getWidth()).toBlob(resolve, 'image/png');
      }).then(function (blob) {
        var body = new FormData();
        body.append('file', blob, 'board.png');
        var token = document.querySelector('meta[name="csrf-token"]').content;
        return fetch(section.dataset.exportUrl, {method: 'POST', body: body, credentials: 'same-origin',
                                                  headers: {'X-CSRFToken': token, 'Accept': 'application/json'}})
          .then(function (r) { return r.json().then(function (data) { return {ok: r.ok, data: data}; }); })
          .then(function (result) {
            host.say(result.ok ? T.boardSaved : (result.data.error || result.data.message || T.offline));
            if (result.ok) host.filesChanged();
            return result;
          });
      });
    }
    section.querySelector('.vc-board-export').addEventListener('click', exportPng);

    // ------------------------------------------------------------ size
    // The canvas follows the width of its place. A height that brings in the page's
    // scroll bar narrows the place, which shortens the canvas, which takes the bar away
    // again: a narrowing of less than a scroll bar right after a widening is left alone
    // (the stage clips it), so the two never chase each other.
    var fitted = 0, fits = 0, fittedAt = 0;
    function fit() {
      var w = stage.clientWidth;
      if (!w || w === fitted || (w < fitted && fitted - w <= 24 && fits > 0 && Date.now() - fittedAt < 1000)) return;
      fitted = w; fits++; fittedAt = Date.now();
      canvas.setDimensions({width: w, height: Math.round(w * H / W)});
      canvas.setZoom(w / W);
      canvas.requestRenderAll();
    }
    new ResizeObserver(fit).observe(stage);
    fit();
    choose('pen');

    return {
      // The room (room.js) says when the socket is in the room and when it is not.
      online: function () { online = true; sending = false; syncing = null; generation++; return sync().then(flush); },
      offline: function () { online = false; sending = false; generation++; },
      receive: function (op) { accept(op); },
      setHost: function (yes) { section.querySelector('.vc-board-clear').hidden = !yes; },
      close: function () { online = false; canvas.isDrawingMode = false; canvas.selection = false; tool = null; },
      // for checks from the page (tests, support)
      canvas: canvas, submit: submit, undo: undo, exportPng: exportPng, choose: choose,
      last: function () { return last; },
      fits: function () { return fits; },
      waiting: function () { return outbox.length; },
      snapshot: function () {
        return canvas.getObjects().filter(function (o) { return o.boardSeq; }).map(function (o) {
          return [o.boardSeq, o.boardKind, o.boardBy, Math.round(o.left), Math.round(o.top), Math.round(o.width), Math.round(o.height)];
        });
      }
    };
  }

  window.TeleconsultBoard = {create: create, WIDTH: W, HEIGHT: H};
})();
