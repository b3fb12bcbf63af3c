// Reference chat server for bench/chat.py: stock socket.io 4.x (bufferutil installed, no
// permessage-deflate), the same events as innotv's chat, each message emitted to the room as
// it arrives (the stock per-message room emit). Usage: node server.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3000);
const hearts = new Map();
const dirty = new Set();
let seq = 0;

const httpServer = http.createServer((req, res) => {
  if (req.url === "/count") {
    res.end(String(io.engine.clientsCount));
    return;
  }
  if (req.url && req.url.startsWith("/hearts")) {
    const room = new URL(req.url, "http://x").searchParams.get("room");
    res.end(String(hearts.get(room) || 0));
    return;
  }
  res.statusCode = 404;
  res.end();
});

const io = new Server(httpServer, {
  maxHttpBufferSize: 16 * 1024,
  perMessageDeflate: false,
  transports: ["websocket", "polling"],
});

function validRoom(d) {
  return d && typeof d.room === "string" && d.room.length <= 80;
}

io.on("connection", (socket) => {
  socket.on("join", (d, ack) => {
    if (!validRoom(d)) return typeof ack === "function" && ack({ ok: false });
    socket.join(d.room);
    if (typeof ack === "function") {
      ack({ ok: true, room: d.room, messages: [], hearts: { total: hearts.get(d.room) || 0 } });
    }
  });
  socket.on("chat", (d, ack) => {
    if (!validRoom(d) || typeof d.text !== "string") return typeof ack === "function" && ack({ ok: false });
    const m = {
      id: String(++seq), viewer: socket.id, nickname: "n", text: d.text.trim().slice(0, 300),
      ts: Date.now(), role: "viewer",
    };
    io.to(d.room).emit("messages", { room: d.room, items: [m] });
    if (typeof ack === "function") ack({ ok: true, id: m.id });
  });
  socket.on("heart", (d, ack) => {
    if (!validRoom(d) || !Number.isInteger(d.count) || d.count < 1 || d.count > 10) {
      return typeof ack === "function" && ack({ ok: false });
    }
    hearts.set(d.room, (hearts.get(d.room) || 0) + d.count);
    dirty.add(d.room);
    if (typeof ack === "function") ack({ ok: true });
  });
});

setInterval(() => {
  for (const room of dirty) io.to(room).emit("hearts", { room, total: hearts.get(room), per_minute: 0 });
  dirty.clear();
}, 200);

httpServer.listen(port, "127.0.0.1", () => console.log(`node reference listening on ${port}`));
