// Halls (/halls, /halls/{id}): the exhibition halls ranked by hearts; one hall's comments (its
// chat room `hall:{id}`) and its heart button.
import { ApiError, get, whoami } from './api.js';
import { ChatView, applyHistory } from './chat.js';
import { $, clear, h, prefersReducedMotion, say } from './dom.js';
import * as i18n from './i18n.js';
import { AckError, ask, connect, keepJoined } from './socket.js';

const NICK_KEY = 'innotv.nick';
const state = { halls: [], hall: null, socket: null, chat: null, joined: null, hearts: 0 };
const errText = (err) => i18n.errorText(err instanceof ApiError || err instanceof AckError ? err : { message: String(err) });

function hallName(hall) {
  return i18n.currentLang() === 'en' && hall.name_en ? hall.name_en : (hall.name ?? hall.title ?? hall.id);
}

function heartsOf(hall) {
  return Number(typeof hall.hearts === 'object' && hall.hearts ? hall.hearts.total : hall.hearts) || 0;
}

async function loadHalls() {
  try {
    const data = await get('/api/halls');
    state.halls = (data && data.halls) || (Array.isArray(data) ? data : []);
  } catch (err) {
    say($('#list-status'), `${i18n.t('halls.none')} (${errText(err)})`, 'error');
    state.halls = [];
  }
}

function renderList() {
  const ol = clear($('#halls'));
  const ranked = [...state.halls].sort((a, b) => heartsOf(b) - heartsOf(a));
  ranked.forEach((hall, index) => {
    const cases = hall.cases ?? hall.case_count;
    ol.append(h('li', { dataset: { id: String(hall.id) } },
      h('span', { class: 'rank', 'aria-hidden': 'true' }, String(index + 1)),
      h('div', { class: 'info' },
        h('a', { href: `/halls/${encodeURIComponent(hall.id)}` }, hallName(hall)),
        typeof cases === 'number' ? h('div', { class: 'small muted' }, i18n.t('halls.cases', { n: cases })) : null),
      h('span', { class: 'small', 'aria-label': i18n.t('hearts.total', { n: heartsOf(hall) }) }, `♥ ${heartsOf(hall)}`)));
  });
}

function setHearts(total) {
  state.hearts = Number(total) || 0;
  $('#hall-hearts').textContent = String(state.hearts);
}

function openHall(id) {
  const hall = state.halls.find((x) => String(x.id) === id) || { id, name: id };
  state.hall = hall;
  $('#list-view').hidden = true;
  $('#hall-view').hidden = false;
  $('#hall-name').textContent = hallName(hall);
  document.title = `${hallName(hall)} · ${i18n.t('halls.title')}`;
  $('#hall-description').textContent = i18n.currentLang() === 'en' && hall.description_en ? hall.description_en : (hall.description || '');
  const cases = hall.cases ?? hall.case_count;
  $('#hall-cases').textContent = typeof cases === 'number' ? i18n.t('halls.cases', { n: cases }) : '';
  setHearts(heartsOf(hall));
  state.chat = new ChatView($('#comments'));
  const room = `hall:${id}`;
  const s = state.socket;
  const mine = (handler) => (m) => { if (m && (!m.room || m.room === room)) handler(m); };
  s.on('messages', mine((m) => { state.chat.add(m.items || []); state.joined.seen(state.chat.lastId); }));
  s.on('deleted', mine((m) => state.chat.remove(m.ids || [])));
  s.on('hearts', mine((m) => setHearts(m.total)));
  s.on('notice', mine((m) => m.code !== 'resync' && state.chat.system(i18n.has(`err.${m.code}`) ? i18n.t(`err.${m.code}`) : m.message || m.code)));
  s.on('disconnect', () => say($('#hall-status'), i18n.t('chat.disconnected'), 'info'));
  state.joined = keepJoined(s, room, (ack, rejoin) => {
    applyHistory(state.chat, ack, rejoin);
    state.joined.seen(state.chat.lastId);
    const hearts = ack.hearts ?? (ack.state && ack.state.hearts);
    if (hearts !== undefined) setHearts(typeof hearts === 'object' && hearts ? hearts.total : hearts);
    state.chat.placeholder(i18n.t('halls.noComments'));
    const saved = localStorage.getItem(NICK_KEY);
    if (saved) ask(s, 'nick', { nickname: saved }).catch(() => {});
    say($('#hall-status'), '');
  }, (err) => say($('#hall-status'), errText(err), 'error'));

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
      await ask(s, 'chat', { room, text });
      $('#comment-text').value = '';
    } catch (err) {
      if (!['slow_mode', 'timed_out', 'banned', 'read_only', 'blocked_word'].includes(err.code)) state.chat.system(errText(err));
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
      await ask(s, 'heart', { room, count: 1 });
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
