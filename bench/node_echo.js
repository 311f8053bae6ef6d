// A minimal socket.io server, the Node baseline of bench/chat_bench.py and
// bench/capacity_bench.py (socket.io from node_modules): `join` puts the socket in its
// chat's room, `send` broadcasts to the room and acknowledges; no login, no database.
//   node bench/node_echo.js PORT [NAMESPACE] [--others]
// NAMESPACE defaults to `/`; with --others a message goes to the room's other sockets only
// (bench/capacity_bare.py's protocol), without it to the sender too (bench/chat_bench.py's).
const { Server } = require('socket.io');

const port = parseInt(process.argv[2], 10);
const namespace = process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : '/';
const othersOnly = process.argv.includes('--others');
const io = new Server(port, { transports: ['websocket', 'polling'], cors: { origin: '*' } });
const nsp = io.of(namespace);
nsp.on('connection', (socket) => {
  socket.on('join', (data, ack) => {
    socket.join('room:' + data.chat);
    if (ack) { ack({ ok: true, messages: [] }); }
  });
  socket.on('send', (data, ack) => {
    (othersOnly ? socket.to('room:' + data.chat) : nsp.to('room:' + data.chat)).emit('message', data);
    if (ack) { ack({ ok: true, message: data }); }
  });
});
console.log('serving on ' + port);
