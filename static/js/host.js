// Host console: pick a program (the list follows every program's state), see what matters on
// air (elapsed and remaining time, viewers, hearts, stream health), go live from the camera over
// WHIP (or read the OBS settings), start and end the program on cue, preview over WHEP, chat with
// the host badge, moderate with one click per action, take questions, run the polls and the live
// quizzes of today's event (host_quiz.js). The camera's size goes with the offer (`?size=`: the
// program's ladder); without a microphone the page publishes the picture alone (the server adds
// silence).
import { csrf, post } from './api.js';
import { ChatView, NOTICED, noticeText } from './chat.js';
import { $, clear, fmtDateTime, h, say } from './dom.js';
import { watchHealth } from './health.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { requireRole } from './login.js';
import { OnAirBar } from './onair.js';
import { pollState, renderPoll } from './poll.js';
import { fetchPrograms, isStale, title } from './programs.js';
import { openRoom } from './room.js';
import { connect } from './socket.js';
import { QuizConsole } from './host_quiz.js';
import { publish, watch } from './whip.js';

const SEGMENT_SECONDS = 1;

const state = {
  user: null,
  programs: [],
  program: null,
  socket: null,
  room: null, // the open room (room.js) of the chosen program
  chat: null,
  camera: null,
  publisher: null,
  preview: null,
  poll: null,
  questions: [],
  onair: null, // the on-air bar (onair.js)
  health: null, // the stream health watch (health.js) of the chosen program
  quiz: null, // the live quiz console (host_quiz.js)
};

const keyStore = (id) => `innotv.key.${id}`;

async function loadPrograms() {
  const all = await fetchPrograms();
  state.programs = state.user.role === 'producer' ? all : all.filter((p) => p.hosts.includes(state.user.username));
  const select = clear($('#program'));
  if (!state.programs.length) {
    select.append(h('option', { value: '' }, i18n.t('host.noPrograms')));
    state.onair.setProgram(null);
    return;
  }
  // Preselect the program live now, else the next one to come.
  const now = Date.now();
  const pick = state.programs.find((p) => p.state === 'live')
    || state.programs.find((p) => new Date(p.ends_at).getTime() > now)
    || state.programs[state.programs.length - 1];
  for (const p of state.programs) {
    select.append(h('option', { value: p.id, selected: p.id === pick.id, dataset: { state: p.state } }, optionLabel(p)));
  }
  const wanted = new URLSearchParams(location.search).get('program');
  if (wanted && state.programs.some((p) => p.id === wanted)) select.value = wanted;
  choose(select.value);
}

function optionLabel(p) {
  return `${fmtDateTime(p.starts_at, i18n.currentLang())} · ${title(p)} (${i18n.t(`state.${p.state}`)})`;
}

/** A `program` event (hosts' connections get every program's): the list shows the new state. */
function followProgram(program) {
  const entry = state.programs.find((x) => x.id === program.id);
  if (!entry || isStale(entry, program)) return;
  Object.assign(entry, program);
  const option = $(`#program option[value="${CSS.escape(program.id)}"]`);
  if (option) {
    option.textContent = optionLabel(entry);
    option.dataset.state = entry.state;
  }
  if (state.program && state.program.id === program.id) {
    state.onair.setProgram(entry);
    renderOnAir();
  }
}

function relabelPrograms() {
  for (const p of state.programs) {
    const option = $(`#program option[value="${CSS.escape(p.id)}"]`);
    if (option) option.textContent = optionLabel(p);
  }
}

function choose(id) {
  const p = state.programs.find((x) => x.id === id) || null;
  state.program = p;
  state.onair.setProgram(p);
  if (state.health) state.health.stop();
  state.health = p ? watchHealth($('#health'), p.id) : null;
  state.quiz.follow(p ? p.id : null);
  if (!p) return;
  $('#obs-server').textContent = `${location.origin}/whip/${encodeURIComponent(p.id)}`;
  $('#obs-keyframe').textContent = i18n.t('host.obsKeyframeValue', { n: SEGMENT_SECONDS });
  $('#stream-key').value = sessionStorage.getItem(keyStore(p.id)) || '';
  renderOnAir();
  joinRoom();
}

// ---- on the air: start now, end now ---------------------------------------------------------

/** The program's state and the cue buttons it allows (start before, end while live). */
function renderOnAir() {
  const p = state.program;
  $('#on-air-state').textContent = p ? `${title(p)}: ${i18n.t(`state.${p.state}`)}` : '';
  $('#start-now').hidden = !p || !['scheduled', 'lobby'].includes(p.state);
  $('#end-now').hidden = !p || p.state !== 'live';
}

/** A newer copy of a program (a REST answer or a `program` event) into the list and the page. */
async function cue(action) {
  const p = state.program;
  if (!p) return false;
  try {
    followProgram(await post(`/api/programs/${encodeURIComponent(p.id)}/${action}`));
    say($('#on-air-status'), i18n.t(action === 'start' ? 'host.started' : 'host.ended'), 'ok');
    return true;
  } catch (err) {
    say($('#on-air-status'), errText(err), 'error');
    return false;
  }
}

// ---- camera and WHIP -------------------------------------------------------------------------

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };

/** The camera and, when allowed, the microphone. A refused or missing microphone is not fatal:
 * the picture goes alone (the server adds silence) and the host is told; no camera is. */
async function startCamera() {
  if (state.camera) return state.camera;
  say($('#mic-status'), '');
  try {
    state.camera = await navigator.mediaDevices.getUserMedia({ video: VIDEO, audio: true });
  } catch (both) {
    try {
      state.camera = await navigator.mediaDevices.getUserMedia({ video: VIDEO });
      say($('#mic-status'), `${i18n.t('host.noMic')} (${both.name})`, 'info');
    } catch (err) {
      say($('#publish-status'), `${i18n.t('host.noCamera')} — ${err.name}: ${err.message}`, 'error');
      return null;
    }
  }
  $('#local').srcObject = state.camera;
  return state.camera;
}

/** `?size=WxH`: the largest picture the camera gives, which caps the program's ladder. */
function sizeQuery(stream) {
  const track = stream.getVideoTracks()[0];
  const { width, height } = track ? track.getSettings() : {};
  return width && height ? `?size=${width}x${height}` : '';
}

async function goLive() {
  const p = state.program;
  const key = $('#stream-key').value.trim();
  if (!p) return;
  if (!key) {
    say($('#publish-status'), i18n.t('host.streamKeyHint'), 'error');
    $('#stream-key').focus();
    return;
  }
  const stream = await startCamera();
  if (!stream) return;
  $('#go-live').disabled = true;
  try {
    state.publisher = await publish(stream, `/whip/${encodeURIComponent(p.id)}${sizeQuery(stream)}`, key);
    sessionStorage.setItem(keyStore(p.id), key);
    say($('#publish-status'), `● ${i18n.t('host.publishing')}`, 'ok');
    $('#stop').hidden = false;
    state.publisher.pc.addEventListener('connectionstatechange', () => {
      const s = state.publisher && state.publisher.pc.connectionState;
      if (s === 'failed' || s === 'closed') stopLive();
    });
  } catch (err) {
    say($('#publish-status'), errText(err), 'error');
    $('#go-live').disabled = false;
  }
}

async function stopLive() {
  if (!state.publisher) return;
  const publisher = state.publisher;
  state.publisher = null;
  await publisher.stop();
  $('#stop').hidden = true;
  $('#go-live').disabled = false;
  say($('#publish-status'), i18n.t('host.stopped'), 'info');
}

/** The stop button: while the program is live, ask whether to end it or take a break (the
 * slate plays until the host is back); before (a camera test), just stop. */
function askStop() {
  if (!state.publisher) return;
  if (!state.program || state.program.state !== 'live') {
    stopLive();
    return;
  }
  $('#stop-dialog').showModal();
}

async function stopAnswer(choice) {
  $('#stop-dialog').close();
  if (choice === 'end') {
    if (!(await cue('end'))) return;
    await stopLive();
  } else if (choice === 'break') {
    await stopLive();
    say($('#publish-status'), i18n.t('host.onBreak'), 'info');
  }
}

async function issueKey() {
  const p = state.program;
  if (!p) return;
  try {
    const data = await post(`/api/programs/${encodeURIComponent(p.id)}/stream-key`);
    $('#stream-key').value = data.stream_key;
    $('#stream-key').type = 'text';
    sessionStorage.setItem(keyStore(p.id), data.stream_key);
  } catch (err) {
    say($('#publish-status'), errText(err), 'error');
  }
}

async function startPreview() {
  const p = state.program;
  if (!p) return;
  if (state.preview) await state.preview.stop();
  try {
    state.preview = await watch(`/whep/${encodeURIComponent(p.id)}`, $('#preview'), csrf());
    say($('#preview-status'), '');
  } catch (err) {
    state.preview = null;
    say($('#preview-status'), errText(err), 'error');
  }
}

// ---- moderation -----------------------------------------------------------------------------

async function mod(event, payload, statusEl = $('#mod-status')) {
  try {
    const ack = await state.room.ask(event, payload);
    say(statusEl, '');
    return ack;
  } catch (err) {
    say(statusEl, errText(err), 'error');
    return null;
  }
}

/** Replaces the room's blocked words with the field's list; shows the list the server kept. */
async function saveWords() {
  const words = $('#blocked').value.split(',').map((w) => w.trim()).filter(Boolean);
  const ack = await mod('mod:words', { words });
  if (!ack) return;
  $('#blocked').value = ack.words.join(', ');
  say($('#mod-status'), i18n.t('host.wordsSaved', { n: ack.words.length }), 'ok');
}

/** One click per action; a time-out lasts as long as the moderation row's length says. */
function moderate(action, item) {
  if (action === 'delete') mod('mod:delete', { id: item.id });
  else if (action === 'timeout') mod('mod:timeout', { viewer: item.viewer, seconds: Number($('#timeout-length').value) });
  else if (action === 'ban') mod('mod:ban', { viewer: item.viewer });
  else if (action === 'pin') mod('mod:pin', { id: item.id });
}

function joinRoom() {
  if (state.room) state.room.close();
  state.chat.reset();
  state.chat.setPinned(null);
  setQuestions([]);
  setPoll(null);
  delete $('#console').dataset.joined;
  // The blocked words are saved as a whole list: not before the join ack has shown the stored one.
  $('#blocked-save').disabled = true;
  const name = `program:${state.program.id}`;
  state.room = openRoom(state.socket, name, {
    joined: (room) => {
      $('#slow').value = String(room.slow);
      state.onair.setViewers(room.viewers);
      state.onair.setHearts(room.hearts.total);
      // Only a moderator's join ack carries the room's blocked words (`words`).
      if (room.words) {
        $('#blocked').value = room.words.join(', ');
        $('#blocked-save').disabled = false;
      }
      setPoll(room.poll);
      setQuestions(room.questions);
      say($('#program-status'), '');
      $('#console').dataset.joined = name;
    },
    slow: (seconds) => { $('#slow').value = String(seconds); },
    viewers: (count) => state.onair.setViewers(count),
    hearts: (hearts) => state.onair.setHearts(hearts.total),
    poll: setPoll,
    questions: setQuestions,
    quiz: (quiz) => state.quiz.onEvent(quiz),
    notice: (notice) => state.chat.system(noticeText(notice)),
    moderation: showAction,
    program: (program) => {
      followProgram(program);
      say($('#program-status'), `${title(program)}: ${i18n.t(`state.${program.state}`)}`, 'info');
    },
    error: (err) => say($('#program-status'), errText(err), 'error'),
  }, state.chat);
}

/** One line per moderation action in this room (from any host), with "unban" where it helps. */
function showAction(m) {
  const ul = $('#actions');
  const key = `host.action.${m.action}`;
  const what = i18n.has(key) ? i18n.t(key) : m.action;
  const seen = m.viewer ? $(`#messages li[data-viewer="${CSS.escape(m.viewer)}"] .nick`) : null;
  const who = m.viewer ? ` · ${seen ? seen.textContent : m.viewer}` : '';
  const li = h('li', { dataset: { action: m.action } }, h('span', { class: 'text' }, `${m.by || ''}: ${what}${who}`));
  if ((m.action === 'ban' || m.action === 'timeout') && m.viewer) {
    li.append(h('button', {
      type: 'button', class: 'btn small secondary', 'data-action': 'unban',
      onclick: () => mod('mod:unban', { viewer: m.viewer }),
    }, i18n.t('host.unban')));
  }
  ul.prepend(li);
  while (ul.children.length > 20) ul.lastElementChild.remove();
}

// ---- questions and polls --------------------------------------------------------------------

/** The queue: who asked and what, its votes; answer or hide with one click. */
function setQuestions(items) {
  state.questions = Array.isArray(items) ? items : [];
  renderQuestions();
}

function renderQuestions() {
  const ul = clear($('#questions'));
  if (!state.questions.length) ul.append(h('li', { class: 'muted' }, i18n.t('qa.empty')));
  const ordered = [...state.questions].sort((a, b) => Number(a.answered) - Number(b.answered) || b.votes - a.votes);
  for (const q of ordered) {
    ul.append(h('li', { class: q.answered ? 'answered' : '', dataset: { id: String(q.id) } },
      h('span', { class: 'small votes' }, `▲ ${q.votes}`),
      h('div', { class: 'text' },
        h('span', { class: 'asker small' }, String(q.nickname ?? '')),
        h('span', { class: 'question' }, String(q.text ?? ''))),
      q.answered ? h('span', { class: 'badge' }, i18n.t('qa.answered'))
        : h('button', { type: 'button', class: 'btn small', 'data-action': 'answer', onclick: () => mod('question:answer', { question_id: q.id }) }, i18n.t('host.answer')),
      h('button', { type: 'button', class: 'btn small secondary', 'data-action': 'hide', onclick: () => mod('question:hide', { question_id: q.id }) }, i18n.t('host.hide'))));
  }
}

/** Chat from the console: the server marks the message with the host's role for everyone. */
async function sendChat(event) {
  event.preventDefault();
  const input = $('#host-chat-text');
  const text = input.value.trim();
  if (!text || !state.room) return;
  $('#host-chat-send').disabled = true;
  try {
    await state.room.ask('chat', { text });
    input.value = '';
    say($('#mod-status'), '');
  } catch (err) {
    if (!NOTICED.has(err.code)) say($('#mod-status'), errText(err), 'error');
  } finally {
    $('#host-chat-send').disabled = false;
    input.focus();
  }
}

function setPoll(poll) {
  state.poll = poll || null;
  renderPoll($('#poll'), state.poll, { showCounts: true });
  const st = state.poll ? pollState(state.poll) : null;
  $('#poll-close').hidden = st !== 'open';
  $('#poll-reveal').hidden = !(st === 'open' || st === 'closed');
}

async function openPoll(event) {
  event.preventDefault();
  const question = $('#poll-question').value.trim();
  const choices = $('#poll-choices').value.split('\n').map((c) => c.trim()).filter(Boolean);
  if (!question || choices.length < 2) {
    say($('#poll-status'), `${i18n.t('host.pollQuestion')} + 2+ ${i18n.t('host.pollChoices')}`, 'error');
    return;
  }
  const ack = await mod('poll:open', { question, choices }, $('#poll-status'));
  if (ack) {
    $('#poll-question').value = '';
    $('#poll-choices').value = '';
    if (ack.poll) setPoll(ack.poll);
  }
}

async function main() {
  i18n.init();
  state.user = await requireRole($('#login-box'), $('#who'), 'host');
  $('#console').hidden = false;
  $('#issue-key').hidden = state.user.role !== 'producer';
  state.chat = new ChatView($('#messages'), { pinned: $('#pinned'), moderate });
  state.onair = new OnAirBar($('#onair'));
  state.quiz = new QuizConsole($('#quiz-panel'));
  state.socket = connect();
  // Every program's state changes reach hosts' connections; the list follows them.
  state.socket.on('program', (program) => { if (program && program.id) followProgram(program); });
  // This person's login session ended (account removed or changed): log in again.
  state.socket.on('notice', (notice) => { if (notice && notice.code === 'session_ended') location.reload(); });
  state.socket.on('connect', () => { $('#console').dataset.socket = 'connected'; });
  state.socket.on('disconnect', () => { $('#console').dataset.socket = 'disconnected'; });
  i18n.onLangChange(() => { relabelPrograms(); renderQuestions(); });
  $('#program').addEventListener('change', (e) => choose(e.target.value));
  $('#camera-start').addEventListener('click', startCamera);
  $('#go-live').addEventListener('click', goLive);
  $('#stop').addEventListener('click', askStop);
  $('#stop-end').addEventListener('click', () => stopAnswer('end'));
  $('#stop-break').addEventListener('click', () => stopAnswer('break'));
  $('#stop-cancel').addEventListener('click', () => stopAnswer('cancel'));
  $('#start-now').addEventListener('click', () => cue('start'));
  $('#end-now').addEventListener('click', () => cue('end'));
  $('#issue-key').addEventListener('click', issueKey);
  $('#preview-start').addEventListener('click', startPreview);
  $('#slow').addEventListener('change', (e) => mod('mod:slow', { seconds: Number(e.target.value) }));
  $('#unpin').addEventListener('click', () => mod('mod:pin', { id: null }));
  $('#blocked-save').addEventListener('click', saveWords);
  $('#host-chat-form').addEventListener('submit', sendChat);
  $('#poll-form').addEventListener('submit', openPoll);
  $('#poll-close').addEventListener('click', () => state.poll && mod('poll:close', { poll_id: state.poll.id }, $('#poll-status')));
  $('#poll-reveal').addEventListener('click', () => state.poll && mod('poll:reveal', { poll_id: state.poll.id }, $('#poll-status')));
  try {
    await loadPrograms();
  } catch (err) {
    say($('#program-status'), errText(err), 'error');
  }
}

main();
