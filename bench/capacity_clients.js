// Socket.IO clients of bench/capacity_bench.py: many live chat sockets in one Node process
// (socket.io-client from node_modules), driven by lines on stdin:
//   open N   -> open sockets until N are open or tried (each connects, joins its chat,
//               then sends a message every INTERVAL ms, with an acknowledgement)
//   stats    -> print one JSON line: connected, refused, dropped, errors, the round
//               trips (ms) measured since the last `stats`
//   quit
// argv: URL SESSIONS_JSON INTERVAL_MS [RATE [FIRST STRIDE]]   (sessions: [{cookie, ua, chat}],
// one per login; RATE: sockets opened per second; socket k of this process uses session
// FIRST + k × STRIDE, so that several client processes share the sessions round robin)
const fs = require('fs');
const readline = require('readline');
const { randomUUID } = require('crypto');
const { io } = require('socket.io-client');

const [url, sessionsFile, intervalArg, rateArg, firstArg, strideArg] = process.argv.slice(2);
const sessions = JSON.parse(fs.readFileSync(sessionsFile, 'utf8'));
const interval = parseInt(intervalArg || '10000', 10);
const rate = parseFloat(rateArg || '500');
const first = parseInt(firstArg || '0', 10);
const stride = parseInt(strideArg || '1', 10);
const sockets = [];
const stats = { connected: 0, refused: 0, dropped: 0, errors: 0, rtts: [] };
let opened = 0;

function openOne(i) {
  const s = sessions[(first + i * stride) % sessions.length];
  const sock = io(url + '/chat', {
    transports: ['websocket'], reconnection: false, timeout: 60000, forceNew: true,
    extraHeaders: { Cookie: s.cookie, 'User-Agent': s.ua },
  });
  sockets.push(sock);
  sock.on('connect', () => {
    sock.timeout(60000).emit('join', { chat: s.chat, after: 1e9 }, (err, reply) => {
      if (err || !reply || !reply.ok) { stats.errors += 1; return; }
      stats.connected += 1;
      sock.joined = true;
      const tick = () => {
        if (!sock.connected) { return; }
        const started = performance.now();
        sock.timeout(30000).emit('send', { chat: s.chat, client_id: randomUUID(), text: 'bench' }, (e, r) => {
          if (e || !r || !r.ok) { stats.errors += 1; } else { stats.rtts.push(performance.now() - started); }
        });
        sock.timer = setTimeout(tick, interval);
      };
      sock.timer = setTimeout(tick, Math.random() * interval);
    });
  });
  sock.on('connect_error', () => { stats.refused += 1; });
  sock.on('disconnect', () => {
    if (sock.joined) { stats.connected -= 1; stats.dropped += 1; sock.joined = false; }
    clearTimeout(sock.timer);
  });
}

async function openUpTo(n) {
  while (opened < n) {
    const batch = Math.min(Math.max(1, Math.round(rate / 20)), n - opened);
    for (let k = 0; k < batch; k += 1) { openOne(opened); opened += 1; }
    await new Promise((resolve) => setTimeout(resolve, (1000 * batch) / rate));
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const [command, arg] = line.trim().split(/\s+/);
  if (command === 'open') {
    await openUpTo(parseInt(arg, 10));
    console.log(JSON.stringify({ opened }));
  } else if (command === 'stats') {
    console.log(JSON.stringify({ ...stats, opened }));
    stats.rtts = [];
  } else if (command === 'quit') {
    for (const sock of sockets) { sock.close(); }
    process.exit(0);
  }
});
