// The one room client: joins a chat room (and joins again after a reconnect or a `resync`, with
// the last message id seen), and hands the page the join ack and the room's server events as
// exactly the fields the server sends (docs/protocol.md, "Chat"). Pages read room state only
// through it, and send room events with `room.ask`.
import { applyHistory } from './chat.js';
import { isStale } from './programs.js';
import { ask, keepJoined } from './socket.js';

/**
 * The room state of a `join` ack, field by field as the server sends it:
 * - `messages` [msg], `deleted` [id], `recovered` (true/false only when the join sent `since`)
 * - `hearts` {room, total, per_minute}, `viewers` (a count)
 * - `pinned` msg | null, `slow` (seconds, 0 = off), `read_only` (program not in lobby/live)
 * - `poll` poll | null (with `voted`; `counts` for hosts or once revealed), `questions` [question]
 * - `program` the program of a `program:` room (null for a hall), `you` {viewer, nickname, role}
 * - `words` the blocked words: only in a host's or producer's ack, otherwise null here
 * - `hearted` (hall rooms) true when this viewer's heart for the hall today has counted already
 */
export function roomState(ack) {
  return {
    room: ack.room,
    messages: ack.messages,
    deleted: ack.deleted,
    recovered: ack.recovered,
    hearts: ack.hearts,
    viewers: ack.viewers,
    pinned: ack.pinned,
    slow: ack.slow,
    read_only: ack.read_only,
    poll: ack.poll,
    questions: ack.questions,
    program: ack.program,
    you: ack.you,
    words: Array.isArray(ack.words) ? ack.words : null,
    hearted: ack.hearted === true,
  };
}

// Server event -> what the page's handler gets (every one of these payloads carries `room`).
const EVENTS = {
  messages: (m) => m.items, // [msg], once per tick
  deleted: (m) => m.ids, // [id]
  hearts: (m) => m, // {room, total, per_minute}
  viewers: (m) => m.count,
  pinned: (m) => m.message, // msg | null
  slow: (m) => m.seconds,
  poll: (m) => m, // the poll itself (live `counts` reach hosts only)
  questions: (m) => m.items, // [question], top 50 by votes
  moderation: (m) => m, // {room, action, by, id?, viewer?, until?, seconds?, count?}
  notice: (m) => m, // {code, message, room, ...}; `resync` has no room and is handled by keepJoined
  quiz: (m) => m, // today's event: the quiz as it opens, closes and is revealed
  draw: (m) => m, // today's event: a prize draw, committed then drawn
  campaign: (m) => m, // today's event: {id, total, donors, goal}, the thermometer
  captions: (m) => m.items, // [{id, lang, at, text, by, rev}], stored caption lines (or corrections), per tick
  'caption:turn': (m) => m, // {room, lang, holder, since}: staff only
};

/**
 * Joins `name` ("program:<id>" or "hall:<id>") on `socket` and keeps it joined.
 *
 * `handlers` (all optional): `joined(state, rejoin)` with `roomState(ack)` after every join;
 * `messages(items)`, `deleted(ids)`, `hearts({total, per_minute})`, `viewers(count)`,
 * `pinned(message|null)`, `slow(seconds)`, `poll(poll)`, `questions(items)`,
 * `moderation(action)`, `notice(notice)`, `quiz(quiz)`, `draw(draw)`, `campaign(update)` for this
 * room's events; `program(program)` for each
 * state change of the room's program that is not older than the last one seen; `error(err)`
 * when a join is refused.
 *
 * With `chat` (a ChatView) the room keeps it in step itself: the join's history, new messages,
 * deletions and the pinned message; and it rejoins with `since` = the newest message shown.
 *
 * Answers `{name, program, ask(event, payload), close()}`; `ask` sends `{room: name, ...payload}`
 * and resolves with the ack (socket.js `ask`).
 */
export function openRoom(socket, name, handlers = {}, chat = null) {
  const listeners = [];
  const listen = (event, fn) => {
    socket.on(event, fn);
    listeners.push([event, fn]);
  };
  const programId = name.startsWith('program:') ? name.slice('program:'.length) : null;
  const room = {
    name,
    program: null, // the room's program as last known (join ack or `program` event)
    ask: (event, payload = {}) => ask(socket, event, { room: name, ...payload }),
    close() {
      for (const [event, fn] of listeners) socket.off(event, fn);
      listeners.length = 0;
      joined.stop();
    },
  };
  const seenNewest = () => {
    if (chat && chat.lastId !== null) joined.seen(chat.lastId);
  };

  for (const [event, pick] of Object.entries(EVENTS)) {
    listen(event, (payload) => {
      if (!payload || payload.room !== name) return;
      const value = pick(payload);
      if (chat && event === 'messages') {
        chat.add(value);
        seenNewest();
      } else if (chat && event === 'deleted') {
        chat.remove(value);
      } else if (chat && event === 'pinned') {
        chat.setPinned(value);
      }
      if (handlers[event]) handlers[event](value);
    });
  }
  // `program` events carry the program itself (no `room`): this room's when the ids match.
  listen('program', (program) => {
    if (!programId || !program || program.id !== programId || isStale(room.program, program)) return;
    room.program = program;
    if (handlers.program) handlers.program(program);
  });

  const joined = keepJoined(socket, name, (ack, rejoin) => {
    const state = roomState(ack);
    if (state.program && !isStale(room.program, state.program)) room.program = state.program;
    if (chat) {
      applyHistory(chat, state, rejoin);
      chat.setPinned(state.pinned);
      seenNewest();
    }
    if (handlers.joined) handlers.joined(state, rejoin);
  }, (err) => {
    if (handlers.error) handlers.error(err);
  });
  return room;
}
