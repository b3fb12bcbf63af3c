// Halls (/halls, /halls/{id}): the exhibition halls ranked by hearts (one per visitor per hall a
// day: a popularity vote); one hall's cases (its case count opens the list), comments (its chat
// room `hall:{id}`) and heart button.
import { get, whoami } from './api.js';
import { ChatView, NOTICED, noticeText } from './chat.js';
import { $, clear, h, prefersReducedMotion, say } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { openRoom } from './room.js';
import { ask, connect } from './socket.js';

const NICK_KEY = 'innotv.nick';
const state = { halls: [], hall: null, socket: null, chat: null, room: null, hearts: 0, cases: null, hearted: false, heartNote: null };

// A hall of GET /api/halls: {id, name, name_en, cases (a number or null), room, hearts, viewers, rank}.
function hallName(hall) {
  return i18n.currentLang() === 'en' && hall.name_en ? hall.name_en : hall.name;
}

async function loadHalls() {
  try {
    const data = await get('/api/halls');
    state.halls = data.halls;
  } catch (err) {
    say($('#list-status'), `${i18n.t('halls.none')} (${errText(err)})`, 'error');
    state.halls = [];
  }
}

function renderList() {
  const ol = clear($('#halls'));
  // The server ranks the halls by hearts (ties in hall order).
  for (const hall of state.halls) {
    ol.append(h('li', { dataset: { id: hall.id } },
      h('span', { class: 'rank', 'aria-hidden': 'true' }, String(hall.rank)),
      h('div', { class: 'info' },
        h('a', { href: `/halls/${encodeURIComponent(hall.id)}` }, hallName(hall)),
        typeof hall.cases === 'number'
          ? h('div', { class: 'small' }, h('a', { href: `/halls/${encodeURIComponent(hall.id)}#cases`, class: 'cases-link' }, i18n.t('halls.cases', { n: hall.cases })))
          : null),
      h('span', { class: 'small', 'aria-label': i18n.t('hearts.total', { n: hall.hearts }) }, `♥ ${hall.hearts}`)));
  }
}

function setHearts(total) {
  state.hearts = total;
  $('#hall-hearts').textContent = String(state.hearts);
  $('#hall-heart').setAttribute('aria-label', `${i18n.t('hearts.send')} · ${i18n.t('hearts.total', { n: state.hearts })}`);
}

/** Once this visitor's heart for the hall counted today, the button stays pressed. */
function setHearted(hearted, note) {
  state.hearted = hearted;
  state.heartNote = note;
  $('#hall-heart').setAttribute('aria-pressed', hearted ? 'true' : 'false');
  const el = $('#heart-note');
  el.hidden = !note;
  el.textContent = note ? i18n.t(note) : '';
}

function caseTitle(item) {
  return i18n.currentLang() === 'en' && item.title_en ? item.title_en : item.title;
}

function renderCases() {
  const list = clear($('#cases'));
  for (const item of state.cases || []) {
    list.append(h('li', { dataset: { number: String(item.number) } },
      item.url ? h('a', { href: item.url, rel: 'noopener noreferrer', target: '_blank' }, caseTitle(item)) : caseTitle(item),
      item.agency ? h('span', { class: 'agency' }, item.agency) : null));
  }
}

/** The case count opens (and closes) the hall's list of cases. */
async function toggleCases(open) {
  const toggle = $('#cases-toggle');
  const show = open ?? toggle.getAttribute('aria-expanded') !== 'true';
  if (show && !state.cases) {
    try {
      state.cases = (await get(`/api/halls/${encodeURIComponent(state.hall.id)}/cases`)).cases;
    } catch (err) {
      say($('#hall-status'), errText(err), 'error');
      return;
    }
    renderCases();
  }
  toggle.setAttribute('aria-expanded', show ? 'true' : 'false');
  $('#cases').hidden = !show;
}

function openHall(id) {
  const hall = state.halls.find((x) => String(x.id) === id) || { id, name: id };
  state.hall = hall;
  $('#list-view').hidden = true;
  $('#hall-view').hidden = false;
  $('#hall-name').textContent = hallName(hall);
  document.title = `${hallName(hall)} · ${i18n.t('halls.title')}`;
  $('#hall-description').textContent = i18n.currentLang() === 'en' && hall.description_en ? hall.description_en : (hall.description || '');
  const toggle = $('#cases-toggle');
  toggle.hidden = typeof hall.cases !== 'number';
  toggle.textContent = typeof hall.cases === 'number' ? i18n.t('halls.cases', { n: hall.cases }) : '';
  toggle.addEventListener('click', () => toggleCases());
  if (location.hash === '#cases' && typeof hall.cases === 'number') toggleCases(true);
  setHearts(hall.hearts ?? 0);
  state.chat = new ChatView($('#comments'));
  const s = state.socket;
  s.on('disconnect', () => say($('#hall-status'), i18n.t('chat.disconnected'), 'info'));
  const room = openRoom(s, `hall:${id}`, {
    joined: (joined) => {
      setHearts(joined.hearts.total);
      setHearted(joined.hearted, joined.hearted ? 'halls.heartedToday' : null);
      state.chat.placeholder(i18n.t('halls.noComments'));
      const saved = localStorage.getItem(NICK_KEY);
      if (saved) ask(s, 'nick', { nickname: saved }).catch(() => {});
      say($('#hall-status'), '');
    },
    hearts: (hearts) => setHearts(hearts.total),
    notice: (notice) => state.chat.system(noticeText(notice)),
    error: (err) => say($('#hall-status'), errText(err), 'error'),
  }, state.chat);
  state.room = room;

  $('#hall-nickname').value = localStorage.getItem(NICK_KEY) || '';
  $('#comment-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('#comment-text').value.trim();
    const nickname = $('#hall-nickname').value.trim();
    if (!text) return;
    $('#comment-send').disabled = true;
    try {
      if (nickname && nickname !== localStorage.getItem(NICK_KEY)) {
        await ask(s, 'nick', { nickname });
        localStorage.setItem(NICK_KEY, nickname);
      }
      await room.ask('chat', { text });
      $('#comment-text').value = '';
    } catch (err) {
      // Refusals that come with a `notice` are already on screen.
      if (!NOTICED.has(err.code)) state.chat.system(errText(err));
    } finally {
      $('#comment-send').disabled = false;
    }
  });
  $('#hall-heart').addEventListener('click', async () => {
    const button = $('#hall-heart');
    if (!prefersReducedMotion()) {
      button.classList.remove('pop');
      void button.offsetWidth;
      button.classList.add('pop');
    }
    try {
      const ack = await room.ask('heart', { count: 1 });
      // One heart per visitor per hall a day counts; a second tap says so instead.
      if (ack.counted === 0) setHearted(true, 'halls.heartedToday');
      else if (ack.counted !== undefined) setHearted(true, 'halls.heartCounted');
    } catch (err) {
      state.chat.system(errText(err));
    }
  });
}

async function main() {
  i18n.init();
  await whoami().catch(() => null);
  state.socket = connect();
  await loadHalls();
  const match = location.pathname.match(/^\/halls\/([^/]+)$/);
  if (match) openHall(decodeURIComponent(match[1]));
  else renderList();
  i18n.onLangChange(() => {
    if (state.hall) {
      $('#hall-name').textContent = hallName(state.hall);
      if (typeof state.hall.cases === 'number') $('#cases-toggle').textContent = i18n.t('halls.cases', { n: state.hall.cases });
      setHearts(state.hearts);
      setHearted(state.hearted, state.heartNote);
      renderCases();
    } else {
      renderList();
    }
  });
  if (!match) {
    // The ranking moves as people press hearts: refresh it now and then.
    setInterval(async () => { await loadHalls(); renderList(); }, 15000);
  }
}

main();
