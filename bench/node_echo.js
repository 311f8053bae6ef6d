// A minimal socket.io echo server, the Node baseline of bench/chat_bench.py:
// `join` puts the socket in a room, `send` broadcasts to the room and acknowledges.
const { Server } = require('socket.io');

const port = parseInt(process.argv[2], 10);
const io = new Server(port, { transports: ['websocket', 'polling'] });
io.on('connection', (socket) => {
  socket.on('join', (data, ack) => {
    socket.join('room:' + data.chat);
    if (ack) { ack({ ok: true, messages: [] }); }
  });
  socket.on('send', (data, ack) => {
    io.to('room:' + data.chat).emit('message', data);
    if (ack) { ack({ ok: true, message: data }); }
  });
});
console.log('serving on ' + port);
