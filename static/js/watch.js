// Viewer page (/ and /watch/{id}): the program live now or a countdown to the next, the player,
// chat (its input docked at the bottom of a phone's screen, the nickname asked once in a small
// dialog), hearts, Q&A, the vote card, the viewer count, share and add-to-calendar, the lineup
// with the next show first, the replays (a replay shows no live count and no old vote), and
// today's event (event.js: join, mileage, donations, quiz, draws).
import { get, whoami } from './api.js';
import { CaptionView } from './captions.js';
import { ChatView, NOTICED, noticeText } from './chat.js';
import { EventPanel } from './event.js';
import { $, clear, fmtCountdown, fmtDateTime, fmtDay, fmtTime, h, prefersReducedMotion, say, seoulDay } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { Player } from './player.js';
import { renderPoll } from './poll.js';
import { isStale, lineupLoader, title } from './programs.js';
import { openRoom } from './room.js';
import { ask, connect } from './socket.js';

const NICK_KEY = 'innotv.nick';
const ASKED_KEY = 'innotv.nickAsked';
const VOTES_KEY = 'innotv.votes';

const state = {
  program: null,
  programs: [],
  socket: null,
  room: null, // the open room (room.js), or null without a program
  chat: null,
  player: null,
  countdownTimer: null,
  hearts: 0,
  pendingHearts: 0,
  heartTimer: null,
  poll: null,
  questions: [],
  fixedId: null,
  viewers: null,
  nickname: '', // as the server knows it (the join ack, or the last `nick` it accepted)
  event: null, // today's event panel (event.js)
  captions: null, // CaptionView: the overlay and the transcript
  producer: false, // signed in as a producer: the replay's captions can be corrected
};

/** 'live', 'upcoming' (scheduled or lobby), 'replay' (ended or replay) or 'none'. */
function mode(p = state.program) {
  if (!p) return 'none';
  if (p.state === 'ended' || p.state === 'replay') return 'replay';
  return p.state === 'live' ? 'live' : 'upcoming';
}

// ---- program and player ---------------------------------------------------------------------

async function loadProgram() {
  const match = location.pathname.match(/^\/watch\/([^/]+)$/);
  state.fixedId = match ? decodeURIComponent(match[1]) : null;
  try {
    const data = state.fixedId
      ? await get(`/api/programs/${encodeURIComponent(state.fixedId)}`)
      : await get('/api/programs/current');
    return data;
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

function showOverlay(label, text, countdownTo) {
  $('#overlay').hidden = false;
  $('#overlay-label').textContent = label || '';
  $('#overlay-text').textContent = text || '';
  clearInterval(state.countdownTimer);
  const cd = $('#countdown');
  if (!countdownTo) {
    cd.textContent = '';
    return;
  }
  const tick = () => {
    const left = new Date(countdownTo).getTime() - Date.now();
    cd.textContent = fmtCountdown(left, (n) => i18n.t('countdown.days', { n }));
    if (left <= 0) {
      clearInterval(state.countdownTimer);
      // The scheduler announces the start on the socket; fetch again in case we missed it.
      setTimeout(refreshProgram, 1500);
    }
  };
  tick();
  state.countdownTimer = setInterval(tick, 1000);
}

function renderProgram() {
  const p = state.program;
  if (state.event) state.event.setProgram(mode() === 'replay' ? null : p);
  const lang = i18n.currentLang();
  const badge = $('#state-badge');
  $('.watch').dataset.mode = mode();
  renderCalendar();
  if (mode() === 'replay') setPoll(null); // a replay shows no old vote
  delete $('#overlay').dataset.replay;
  if (!p) {
    $('#title').textContent = i18n.t('brand');
    badge.hidden = true;
    $('#when').textContent = '';
    $('#description').textContent = '';
    state.player.stop();
    showOverlay('', state.fixedId ? i18n.t('watch.notFound') : i18n.t('watch.nothing'));
    return;
  }
  document.title = `${title(p)} · ${i18n.t('brand')}`;
  $('#title').textContent = title(p);
  badge.hidden = false;
  badge.className = `badge ${p.state}`;
  badge.textContent = i18n.t(`state.${p.state}`);
  $('#when').textContent = `${fmtDateTime(p.starts_at, lang)}–${fmtTime(p.ends_at, lang)}`;
  $('#description').textContent = p.description || '';
  const shownMode = p.state === 'live' || p.state === 'lobby' ? 'live' : p.state === 'replay' ? 'replay' : 'none';
  if (state.captions.programId !== p.id || state.captions.mode !== shownMode) {
    state.captions.show(p, shownMode, state.producer);
  }
  if (p.state === 'live') {
    $('#overlay').hidden = true;
    clearInterval(state.countdownTimer);
    state.player.play(`/hls/${encodeURIComponent(p.id)}/master.m3u8`);
  } else if (p.state === 'replay') {
    $('#overlay').hidden = true;
    clearInterval(state.countdownTimer);
    state.player.play(`/vod/${encodeURIComponent(p.id)}/master.m3u8`);
  } else if (p.state === 'ended') {
    // Over, and no replay to play (yet): ask why instead of polling for a playlist.
    state.player.stop();
    showOverlay(i18n.t('state.ended'), i18n.t('watch.ended'));
    explainEnded(p);
  } else {
    state.player.stop();
    const label = p.state === 'lobby' ? i18n.t('state.lobby') : `${i18n.t('watch.next')} · ${i18n.t('watch.startsIn')}`;
    showOverlay(label, p.state === 'lobby' ? i18n.t('watch.lobby') : title(p), p.starts_at);
  }
}

/** An ended program without a replay: being written (the `program` event `replay` will come),
 * never aired, hidden or deleted. `#overlay[data-replay]` holds the answer's state. */
async function explainEnded(p) {
  let replay;
  try {
    replay = await get(`/api/programs/${encodeURIComponent(p.id)}/replay`);
  } catch {
    return; // the overlay's general "ended" line stays
  }
  if (!state.program || state.program.id !== p.id || state.program.state !== 'ended') return;
  $('#overlay').dataset.replay = replay.state;
  const key = { pending: 'watch.ended', none: 'watch.neverAired' }[replay.state] || 'watch.noReplay';
  showOverlay(i18n.t('state.ended'), i18n.t(key));
}

function setReadOnly(readOnly) {
  for (const el of [$('#chat-text'), $('#chat-send'), $('#qa-text')]) el.disabled = readOnly;
  const before = state.program && (state.program.state === 'scheduled');
  const key = mode() === 'replay' ? 'chat.replay' : before ? 'chat.opensLater' : 'chat.readonly';
  if (readOnly) say($('#chat-status'), i18n.t(key), 'info');
  else if ($('#chat-status').dataset.kind === 'info' && $('#chat-status').dataset.ro) say($('#chat-status'), '');
  $('#chat-status').dataset.ro = readOnly ? '1' : '';
}

function onPlayerStatus(kind) {
  const p = state.program;
  if (kind === 'playing') {
    $('#overlay').hidden = true;
    $('#unmute').hidden = !$('#video').muted;
  } else if (kind === 'waiting' && p) {
    const text = p.state === 'live' ? i18n.t('watch.noVideo') : i18n.t('watch.ended');
    showOverlay(i18n.t(`state.${p.state}`), text);
  }
}

async function refreshProgram() {
  try {
    const next = await loadProgram();
    const changedRoom = (next && next.id) !== (state.program && state.program.id);
    state.program = next;
    renderProgram();
    if (changedRoom) joinRoom();
    renderLineup();
  } catch (err) {
    say($('#chat-status'), errText(err), 'error');
  }
}

/** A newer copy of the shown program (a `program` event, or the join ack after a reconnect):
 * shown when it is not older than what the page has and says something new. */
function applyProgram(program) {
  const entry = state.programs.find((x) => x.id === program.id);
  if (entry && !isStale(entry, program)) Object.assign(entry, program);
  const shown = state.program;
  if (shown && shown.id === program.id && !isStale(shown, program)
      && (shown.state !== program.state || shown.version !== program.version)) {
    state.program = program;
    renderProgram();
  }
  renderLineup();
}

// ---- lineup and replays ---------------------------------------------------------------------

const fetchLineup = lineupLoader((programs) => {
  state.programs = programs;
  renderLineup();
});

/** The lineup again (re-rendered only when it changed); a failed load keeps what is shown. */
const loadLineup = () => fetchLineup().catch(() => {});

/**
 * The lineup, next show first: the program on air or the next to start, then the rest to come
 * by day, then the programs that are over (folded away; the replays list has them too).
 */
function renderLineup() {
  const lang = i18n.currentLang();
  const box = clear($('#lineup'));
  const now = Date.now();
  const over = (p) => p.state === 'ended' || p.state === 'replay' || new Date(p.ends_at).getTime() <= now;
  const coming = state.programs.filter((p) => !over(p));
  const past = state.programs.filter(over);
  if (!state.programs.length) box.append(h('p', { class: 'muted' }, i18n.t('watch.nothing')));
  const item = (p, extra = '') => {
    const current = state.program && state.program.id === p.id;
    return h('li', { class: `${current ? 'current' : ''} ${extra}`.trim(), dataset: { id: p.id } },
      h('span', { class: 'time' }, fmtTime(p.starts_at, lang)),
      h('a', { class: 'ptitle', href: `/watch/${encodeURIComponent(p.id)}`, 'aria-current': current ? 'true' : null }, title(p)),
      h('span', { class: `badge ${p.state}` }, i18n.t(`state.${p.state}`)));
  };
  const byDay = (list) => {
    const days = new Map();
    for (const p of list) {
      const d = seoulDay(p.starts_at);
      if (!days.has(d)) days.set(d, []);
      days.get(d).push(p);
    }
    return [...days.values()].map((programs) => h('div', { class: 'day' },
      h('h3', {}, fmtDay(programs[0].starts_at, lang)), h('ul', {}, programs.map((p) => item(p)))));
  };
  if (coming.length) {
    const [next, ...rest] = coming;
    const label = next.state === 'live' ? i18n.t('watch.now') : i18n.t('watch.next');
    box.append(h('div', { class: 'day next' },
      h('h3', {}, `${label} · ${fmtDay(next.starts_at, lang)}`), h('ul', {}, item(next, 'next'))));
    box.append(...byDay(rest));
  }
  if (past.length) {
    box.append(h('details', { class: 'past' },
      h('summary', {}, i18n.t('watch.past', { n: past.length })), ...byDay(past)));
  }
  const replays = clear($('#replays'));
  const done = state.programs.filter((p) => p.state === 'replay').reverse();
  if (!done.length) replays.append(h('li', { class: 'muted' }, i18n.t('watch.noReplays')));
  for (const p of done) {
    replays.append(h('li', {},
      h('span', { class: 'time' }, fmtDay(p.starts_at, lang)),
      h('a', { class: 'ptitle', href: `/watch/${encodeURIComponent(p.id)}` }, title(p)),
      h('span', { class: `badge ${p.state}` }, i18n.t(`state.${p.state}`))));
  }
}

// ---- share and calendar ---------------------------------------------------------------------

function programUrl() {
  const p = state.program;
  return p ? `${location.origin}/watch/${encodeURIComponent(p.id)}` : location.href;
}

/** The system share sheet where there is one (phones); otherwise the link is copied. */
async function share() {
  const p = state.program;
  const url = programUrl();
  if (navigator.share) {
    try {
      await navigator.share({ title: p ? title(p) : document.title, url });
      return;
    } catch (err) {
      if (err && err.name === 'AbortError') return; // the viewer closed the sheet
    }
  }
  try {
    await navigator.clipboard.writeText(url);
    say($('#share-status'), i18n.t('watch.copied'), 'ok');
  } catch {
    say($('#share-status'), i18n.t('watch.copyThis', { url }), 'info');
  }
}

/** "Add to calendar" for this program (its own .ics), while it is still to come or on air. */
function renderCalendar() {
  const link = $('#calendar');
  const p = state.program;
  link.hidden = !p || mode() === 'replay';
  if (p) {
    link.href = `/schedule/${encodeURIComponent(p.id)}.ics`;
    link.setAttribute('download', `innotv-${p.id}.ics`);
  }
}

// ---- chat room ------------------------------------------------------------------------------

function roomName() {
  return state.program ? `program:${state.program.id}` : null;
}

function joinRoom() {
  if (state.room) state.room.close();
  state.room = null;
  state.chat.reset();
  state.chat.setPinned(null);
  state.questions = [];
  renderQuestions();
  setPoll(null);
  setHearts(0);
  const name = roomName();
  if (!name) return;
  state.room = openRoom(state.socket, name, {
    joined: onJoined,
    hearts: (hearts) => {
      const before = state.hearts;
      setHearts(hearts.total);
      if (hearts.total > before && document.visibilityState === 'visible') floatHearts(Math.min(5, hearts.total - before));
    },
    viewers: setViewers,
    slow: setSlow,
    poll: setPoll,
    questions: setQuestions,
    quiz: (quiz) => state.event.quiz(quiz),
    draw: (draw) => state.event.draw(draw),
    campaign: (campaign) => state.event.campaign(campaign),
    captions: (items) => state.captions.add(items),
    notice: (notice) => {
      state.chat.system(noticeText(notice));
      if (['slow_mode', 'timed_out', 'banned', 'read_only'].includes(notice.code)) {
        say($('#chat-status'), noticeText(notice), notice.code === 'slow_mode' ? 'info' : 'error');
      }
    },
    program: (program) => {
      applyProgram(program);
      setReadOnly(!(program.state === 'lobby' || program.state === 'live'));
    },
    error: (err) => say($('#chat-status'), errText(err), 'error'),
  }, state.chat);
}

/** The room state of each join (first or after a reconnect). */
function onJoined(room) {
  say($('#chat-status'), '');
  setHearts(room.hearts.total);
  setViewers(room.viewers);
  setSlow(room.slow);
  setPoll(room.poll);
  setQuestions(room.questions);
  if (room.program) applyProgram(room.program);
  showNick(room.you.nickname);
  const saved = localStorage.getItem(NICK_KEY);
  if (saved && saved !== room.you.nickname) {
    state.room.ask('nick', { nickname: saved }).then((ack) => showNick(ack.nickname)).catch(() => {
      localStorage.removeItem(NICK_KEY); // no longer allowed (e.g. now a staff name): ask again
      localStorage.removeItem(ASKED_KEY);
    });
  }
  setReadOnly(room.read_only);
}

function setHearts(total) {
  state.hearts = total;
  $('#hearts-total').textContent = String(state.hearts);
  $('#heart').setAttribute('aria-label', `${i18n.t('hearts.send')} · ${i18n.t('hearts.total', { n: state.hearts })}`);
}

function showNick(nickname) {
  state.nickname = nickname || '';
  $('#nick-shown').textContent = state.nickname;
}

/**
 * The nickname dialog: resolves true once the server took the new name, false when the viewer
 * kept the current one. Asked once by itself (before the first message); the chip reopens it.
 */
function askNickname() {
  const dialog = $('#nick-dialog');
  const input = $('#nickname');
  input.value = localStorage.getItem(NICK_KEY) || state.nickname;
  say($('#nick-status'), '');
  input.removeAttribute('aria-invalid');
  return new Promise((resolve) => {
    let saved = false;
    const onSubmit = async (event) => {
      event.preventDefault();
      const nickname = input.value.trim();
      if (!nickname) return;
      try {
        const ack = await ask(state.socket, 'nick', { nickname });
        localStorage.setItem(NICK_KEY, ack.nickname);
        showNick(ack.nickname);
        saved = true;
        dialog.close();
      } catch (err) {
        say($('#nick-status'), errText(err), 'error');
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    };
    const onCancel = () => dialog.close();
    $('#nick-form').addEventListener('submit', onSubmit);
    $('#nick-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('close', () => {
      $('#nick-form').removeEventListener('submit', onSubmit);
      $('#nick-cancel').removeEventListener('click', onCancel);
      localStorage.setItem(ASKED_KEY, '1');
      resolve(saved);
    }, { once: true });
    dialog.showModal();
    input.select();
  });
}

function setViewers(count) {
  state.viewers = count;
  $('#viewers').textContent = i18n.t('watch.viewers', { n: state.viewers });
}

function setSlow(seconds) {
  if (seconds > 0) say($('#chat-status'), i18n.t('chat.slow', { n: seconds }), 'info');
  else if ($('#chat-status').dataset.kind === 'info') say($('#chat-status'), '');
}

function wireSocket() {
  state.socket.on('disconnect', () => say($('#chat-status'), i18n.t('chat.disconnected'), 'info'));
}

// ---- hearts ---------------------------------------------------------------------------------

function floatHearts(n) {
  if (prefersReducedMotion()) return;
  const layer = $('#hearts-layer');
  for (let i = 0; i < n; i += 1) {
    const side = ['', 'l', 'r'][Math.floor(Math.random() * 3)];
    const el = h('span', { class: `float-heart ${side}` }, '♥');
    el.addEventListener('animationend', () => el.remove());
    setTimeout(() => el.remove(), 2500);
    layer.append(el);
  }
}

function tapHeart() {
  const { room } = state;
  if (!room) return;
  floatHearts(1);
  state.pendingHearts += 1;
  if (state.heartTimer) return;
  // Taps within 300 ms travel as one event (count 1..10), as the protocol allows.
  state.heartTimer = setTimeout(async () => {
    const count = Math.min(10, state.pendingHearts);
    state.pendingHearts = 0;
    state.heartTimer = null;
    try {
      await room.ask('heart', { count });
    } catch (err) {
      state.chat.system(errText(err));
    }
  }, 300);
}

// ---- polls and questions --------------------------------------------------------------------

function votes() {
  try {
    return JSON.parse(sessionStorage.getItem(VOTES_KEY) || '{}');
  } catch {
    return {};
  }
}

function setPoll(poll) {
  state.poll = poll || null;
  const card = $('#poll');
  if (!poll || mode() === 'replay') {
    renderPoll(card, null);
    return;
  }
  const mine = votes()[poll.id];
  // The server says whether this viewer voted (`voted`); the choice itself is remembered here.
  let voted = mine;
  if (poll.voted === true && voted === undefined) voted = -1;
  renderPoll(card, poll, {
    voted,
    onVote: async (choice) => {
      try {
        const ack = await state.room.ask('vote', { poll_id: poll.id, choice });
        state.event.earned(ack.mileage);
        const all = votes();
        all[poll.id] = choice;
        sessionStorage.setItem(VOTES_KEY, JSON.stringify(all));
        setPoll(state.poll);
      } catch (err) {
        state.chat.system(errText(err));
      }
    },
  });
}

function setQuestions(items) {
  state.questions = Array.isArray(items) ? items : [];
  renderQuestions();
}

function renderQuestions() {
  const ul = clear($('#questions'));
  if (!state.questions.length) ul.append(h('li', { class: 'muted' }, i18n.t('qa.empty')));
  for (const q of state.questions) {
    ul.append(h('li', { class: q.answered ? 'answered' : '', dataset: { id: String(q.id) } },
      h('span', { class: 'text' }, String(q.text ?? '')),
      q.answered ? h('span', { class: 'badge' }, i18n.t('qa.answered')) : null,
      h('button', {
        type: 'button', class: 'btn small secondary', 'aria-label': `${i18n.t('qa.upvote')}: ${q.text}`,
        onclick: () => state.room.ask('upvote', { question_id: q.id }).catch((err) => say($('#qa-status'), errText(err), 'error')),
      }, `▲ ${q.votes}`)));
  }
}

// ---- wiring ---------------------------------------------------------------------------------

function wireTabs() {
  const tabs = [[$('#tab-chat'), $('#panel-chat')], [$('#tab-qa'), $('#panel-qa')],
    [$('#tab-transcript'), $('#panel-transcript')]];
  const select = (index) => {
    tabs.forEach(([tab, panel], i) => {
      tab.setAttribute('aria-selected', String(i === index));
      tab.tabIndex = i === index ? 0 : -1;
      panel.hidden = i !== index;
    });
    tabs[index][0].focus();
  };
  tabs.forEach(([tab], i) => {
    tab.addEventListener('click', () => select(i));
    tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight') select((i + 1) % tabs.length);
      if (e.key === 'ArrowLeft') select((i + tabs.length - 1) % tabs.length);
    });
  });
}

function wireForms() {
  $('#nick-open').addEventListener('click', async () => {
    if (await askNickname()) state.chat.system(i18n.t('chat.nickSaved', { name: state.nickname }));
  });
  $('#chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#chat-text');
    const text = input.value.trim();
    const { room } = state;
    if (!text || !room) return;
    // The first message asks for a nickname once (keeping the default is fine too).
    if (!localStorage.getItem(NICK_KEY) && !localStorage.getItem(ASKED_KEY)) await askNickname();
    $('#chat-send').disabled = true;
    try {
      const ack = await room.ask('chat', { text });
      state.event.earned(ack.mileage);
      input.value = '';
    } catch (err) {
      // Refusals that come with a `notice` are already on screen.
      if (!NOTICED.has(err.code)) state.chat.system(errText(err));
    } finally {
      $('#chat-send').disabled = false;
      input.focus();
    }
  });
  $('#qa-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#qa-text').value.trim();
    if (!text || !state.room) return;
    try {
      const ack = await state.room.ask('question', { text });
      state.event.earned(ack.mileage);
      $('#qa-text').value = '';
      say($('#qa-status'), '');
    } catch (err) {
      say($('#qa-status'), errText(err), 'error');
    }
  });
  $('#heart').addEventListener('click', tapHeart);
  $('#share').addEventListener('click', share);
  $('#unmute').addEventListener('click', () => {
    const video = $('#video');
    video.muted = false;
    video.play().catch(() => {});
    $('#unmute').hidden = true;
  });
  $('#video').addEventListener('volumechange', () => { $('#unmute').hidden = !$('#video').muted; });
}

async function main() {
  i18n.init();
  const me = await whoami().catch(() => null); // sets the viewer cookie before the socket connects
  state.producer = !!(me && me.role === 'producer');
  state.chat = new ChatView($('#messages'), { pinned: $('#pinned') });
  state.player = new Player($('#video'), $('#quality'), onPlayerStatus, () => i18n.t('watch.auto'));
  state.captions = new CaptionView($('#video'));
  state.player.onHls = (hls, Hls) => state.captions.attachHls(hls, Hls);
  state.event = new EventPanel($('#event'), $('#video'));
  state.event.start();
  state.socket = connect();
  wireSocket();
  wireTabs();
  wireForms();
  i18n.onLangChange(() => {
    state.player.relabel();
    renderProgram();
    renderLineup();
    renderQuestions();
    setHearts(state.hearts);
    if (state.viewers !== null) setViewers(state.viewers);
    if (state.poll) setPoll(state.poll);
  });
  say($('#chat-status'), i18n.t('chat.connecting'), 'info');
  await Promise.all([refreshProgram(), loadLineup()]);
  // The lineup's other programs change state without an event in this room: refresh now and then.
  setInterval(loadLineup, 60000);
}

main();
