// The Node socket.io server of bench/capacity_bench.py (socket.io from node_modules): the
// protocol of bench/capacity_bare.py on the /chat namespace: `join` puts the socket in its
// chat's room, `send` broadcasts to the room (not back to the sender) and acknowledges; no
// login, no database.   node bench/capacity_node.js PORT
const { Server } = require('socket.io');

const port = parseInt(process.argv[2], 10);
const io = new Server(port, { transports: ['websocket', 'polling'], cors: { origin: '*' } });
io.of('/chat').on('connection', (socket) => {
  socket.on('join', (data, ack) => {
    socket.join('room:' + data.chat);
    if (ack) { ack({ ok: true, messages: [] }); }
  });
  socket.on('send', (data, ack) => {
    socket.to('room:' + data.chat).emit('message', data);
    if (ack) { ack({ ok: true, message: data }); }
  });
});
console.log('serving on ' + port);
