// The captioning console (/caption): a captioner (or a host or producer) picks the program and
// the language, watches it, and types. A line goes out on Enter, after a pause of typing, or when
// it reaches the line length (cut at the last space); the newest line of mine can be corrected.
// Each language has a turn: the holder captions, another takes it over with one click, and both
// consoles show who holds it (docs/protocol.md, "Captions").
import { get } from './api.js';
import { $, clear, h, say } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { requireRole } from './login.js';
import { Player } from './player.js';
import { title } from './programs.js';
import { openRoom } from './room.js';
import { connect } from './socket.js';

const state = {
  user: null, socket: null, room: null, programId: null, lang: null, languages: [],
  console: { pause_ms: 1500, line_chars: 60 }, lines: [], turns: {}, pauseTimer: null, player: null,
  sending: Promise.resolve(), lastMine: null, clientSeq: 0,
};

function status(text, kind = 'info') {
  say($('#caption-status'), text, kind);
}

function renderTurn() {
  const turn = state.turns[state.lang];
  const holder = turn ? turn.holder : null;
  const el = $('#turn');
  if (!holder) el.textContent = i18n.t('caption.turnFree');
  else if (holder === state.user.username) el.textContent = i18n.t('caption.turnMine', { name: holder });
  else el.textContent = i18n.t('caption.turnOther', { name: holder });
  el.dataset.holder = holder || '';
  $('#take').hidden = holder === state.user.username;
  $('#release').hidden = holder !== state.user.username;
}

function renderLines() {
  const list = clear($('#lines'));
  const mine = state.lines.filter((l) => l.lang === state.lang);
  for (const line of mine.slice(-12)) {
    list.append(h('li', { dataset: { id: String(line.id) } },
      h('span', { class: 'small muted' }, `${line.by} `), h('span', { class: 'text' }, line.text)));
  }
  const last = mine[mine.length - 1];
  state.lastMine = last && last.by === state.user.username ? last : null;
  $('#fix-open').disabled = !state.lastMine;
}

function addLines(items) {
  for (const item of items) {
    const at = state.lines.findIndex((l) => l.id === item.id);
    if (at >= 0) {
      if (item.rev >= state.lines[at].rev) state.lines[at] = item;
    } else {
      state.lines.push(item);
    }
  }
  state.lines.sort((a, b) => a.id - b.id);
  renderLines();
}

/** Sends one line (in order after the ones before); the input keeps what was typed since. */
function send(text) {
  const line = text.trim();
  if (!line || !state.room) return;
  state.clientSeq += 1;
  const clientId = `${Date.now().toString(36)}-${state.clientSeq}`;
  state.sending = state.sending.then(async () => {
    try {
      await state.room.ask('caption', { text: line, lang: state.lang, client_id: clientId });
      status(`${i18n.t('caption.sent')}: ${line}`, 'ok');
    } catch (err) {
      status(errText(err), 'error');
    }
  });
}

/** Takes the committed part off the input: all of it, or up to the last space before the limit. */
function commit(all) {
  const input = $('#caption-text');
  const value = input.value;
  if (all) {
    input.value = '';
    send(value);
    return;
  }
  const limit = state.console.line_chars;
  if (value.length < limit) return;
  const cut = value.lastIndexOf(' ', limit);
  const at = cut > limit / 2 ? cut : limit;
  input.value = value.slice(at).trimStart();
  send(value.slice(0, at));
}

function wireInput() {
  const input = $('#caption-text');
  $('#caption-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(state.pauseTimer);
    commit(true);
  });
  input.addEventListener('input', () => {
    commit(false);
    clearTimeout(state.pauseTimer);
    state.pauseTimer = setTimeout(() => commit(true), state.console.pause_ms);
  });
  $('#take').addEventListener('click', () => turn(true));
  $('#release').addEventListener('click', () => turn(false));
  $('#fix-open').addEventListener('click', () => {
    if (!state.lastMine) return;
    $('#fix-form').hidden = false;
    $('#fix-text').value = state.lastMine.text;
    $('#fix-text').focus();
  });
  $('#fix-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!state.lastMine) return;
    try {
      await state.room.ask('caption:fix', { id: state.lastMine.id, text: $('#fix-text').value, lang: state.lang });
      $('#fix-form').hidden = true;
      $('#caption-text').focus();
    } catch (err) {
      status(errText(err), 'error');
    }
  });
}

async function turn(take) {
  try {
    const ack = await state.room.ask('caption:turn', { lang: state.lang, take });
    state.turns[ack.turn.lang] = ack.turn;
    renderTurn();
  } catch (err) {
    status(errText(err), 'error');
  }
}

async function loadTranscript() {
  const data = await get(`/api/programs/${encodeURIComponent(state.programId)}/captions`);
  state.languages = data.languages;
  state.console = data.console;
  for (const t of data.turns) state.turns[t.lang] = t;
  const pick = $('#lang-pick');
  if (!pick.options.length) {
    for (const lang of data.languages) pick.append(h('option', { value: lang }, lang));
    state.lang = data.languages[0];
  }
  addLines(data.items);
  renderTurn();
}

async function openProgram(programId) {
  if (state.room) state.room.close();
  state.programId = programId;
  state.lines = [];
  state.turns = {};
  renderLines();
  state.room = openRoom(state.socket, `program:${programId}`, {
    joined: (room) => {
      loadTranscript().catch((err) => status(errText(err), 'error'));
      const on = room.program && (room.program.state === 'lobby' || room.program.state === 'live');
      if (!on) status(i18n.t('caption.offAir'), 'info');
      state.player.play(`/hls/${encodeURIComponent(programId)}/master.m3u8`);
    },
    captions: addLines,
    'caption:turn': (t) => {
      state.turns[t.lang] = t;
      renderTurn();
    },
    error: (err) => status(errText(err), 'error'),
  });
}

async function main() {
  i18n.init();
  state.user = await requireRole($('#login-box'), $('#who'), 'captioner');
  $('#console').hidden = false;
  state.player = new Player($('#video'), $('#quality'), () => {}, () => '');
  state.socket = connect();
  wireInput();
  const { programs } = await get('/api/programs');
  const open = programs.filter((p) => p.state === 'lobby' || p.state === 'live');
  const choices = open.length ? open : programs.filter((p) => p.state === 'scheduled').slice(0, 5);
  const select = $('#program');
  for (const p of choices) select.append(h('option', { value: p.id }, title(p)));
  select.addEventListener('change', () => openProgram(select.value));
  $('#lang-pick').addEventListener('change', () => {
    state.lang = $('#lang-pick').value;
    renderTurn();
    renderLines();
  });
  if (choices.length) await openProgram(choices[0].id);
  $('#caption-text').focus();
}

main();
