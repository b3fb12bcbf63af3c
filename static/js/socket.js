// The page's one Socket.IO connection (websocket first), acks as promises, and rooms that are
// joined again after a reconnect with the last message id seen, so missed messages come back.
import { io } from '/static/vendor/socket.io.esm.min.js';

// Refusals by the server's per-address limits that are worth another try later.
const RETRY_CODES = new Set(['connect_rate_limited', 'too_many_connections']);

export function connect() {
  const socket = io({ transports: ['websocket', 'polling'], withCredentials: true });
  // socket.io does not retry a connection the server refused (CONNECT_ERROR). When the refusal
  // is the per-address limits (an office arriving at once), come back after the time the server
  // names (spread by the server, so the crowd returns at the rate it is let in).
  socket.on('connect_error', (err) => {
    const data = err && err.data;
    if (socket.active || !data || !RETRY_CODES.has(data.code)) return;
    const seconds = Number(data.retry_after) || 5 + Math.random() * 10;
    setTimeout(() => { if (!socket.connected) socket.connect(); }, seconds * 1000);
  });
  return socket;
}

export class AckError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Emits and resolves with the ack when it says ok; rejects with AckError otherwise. */
export async function ask(socket, event, payload, timeoutMs = 8000) {
  let ack;
  try {
    ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch {
    throw new AckError('network_error', 'The server did not answer in time.');
  }
  if (!ack || ack.ok === false) {
    const error = (ack && ack.error) || {};
    throw new AckError(error.code || 'generic', error.message || 'The request failed.');
  }
  return ack;
}

/**
 * Joins `room` now and after every reconnect; `onJoin(ack)` gets the room state each time.
 * Call `seen(id)` with the newest message id so a rejoin asks only for what was missed.
 * A `resync` notice (the server dropped a reader that fell behind) rejoins the same way.
 */
export function keepJoined(socket, room, onJoin, onError) {
  let since = null;
  async function join() {
    try {
      const ack = await ask(socket, 'join', since ? { room, since } : { room });
      onJoin(ack, since !== null);
    } catch (err) {
      if (onError) onError(err);
    }
  }
  // A reader that fell behind is taken out of the room by the server and told to resync:
  // join again with `since`, which brings back exactly what was missed.
  function onNotice(m) {
    if (m && m.code === 'resync' && (!Array.isArray(m.rooms) || m.rooms.includes(room))) join();
  }
  socket.on('connect', join);
  socket.on('notice', onNotice);
  if (socket.connected) join();
  return {
    seen(id) { if (id !== undefined && id !== null) since = id; },
    stop() {
      socket.off('connect', join);
      socket.off('notice', onNotice);
      if (socket.connected) socket.emit('leave', { room });
    },
  };
}
