// Producer desk: the ten-day lineup (create, edit, delete with inline errors), hosts, stream
// keys, premiere media, RTMP simulcast targets, labelled live numbers and charts with a link to
// the program's report, stream health and a preview, accounts, import/export as JSON, and today's
// event (produce_event.js: campaigns, the ledger's audit, earning rules, prize draws).
import { manageAccounts } from './accounts.js';
import { api, csrf, del, get, patch, post } from './api.js';
import { makeChart } from './chart.js';
import { $, clear, fmtDay, fmtTime, h, isoToLocal, localToIso, say, seoulDay } from './dom.js';
import { watchHealth } from './health.js';
import { EventDesk } from './produce_event.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { requireRole } from './login.js';
import { Player } from './player.js';
import { fetchPrograms, lineupLoader, title } from './programs.js';
import { openRoom } from './room.js';
import { connect } from './socket.js';
import { watch } from './whip.js';

const state = {
  programs: [],
  editing: null, // program being edited, or null for a new one
  selected: null, // program whose details are open
  statsTimer: null,
  charts: null,
  room: null, // the open room (room.js) of the program whose details are open
  socket: null,
  health: null, // the stream health watch (health.js) of the open program
  preview: null, // a WHEP session, or an HLS player when nobody publishes (the demo, a premiere)
  event: null, // today's event desk (produce_event.js)
};

const fetchLineup = lineupLoader((programs) => {
  state.programs = programs;
  renderLineup();
});

/** The lineup again (re-rendered only when it changed); a failure shows in the status line. */
async function loadLineup() {
  try {
    await fetchLineup();
  } catch (err) {
    say($('#lineup-status'), errText(err), 'error');
  }
}

function renderLineup() {
  const body = clear($('#lineup-body'));
  const lang = i18n.currentLang();
  if (!state.programs.length) {
    body.append(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, i18n.t('produce.empty'))));
    return;
  }
  let day = null;
  for (const p of state.programs) {
    const d = seoulDay(p.starts_at);
    if (d !== day) {
      day = d;
      body.append(h('tr', { class: 'day-row' }, h('th', { colspan: 3, scope: 'rowgroup' }, fmtDay(p.starts_at, lang))));
    }
    const confirmBtn = h('button', { type: 'button', class: 'btn small danger', hidden: true }, i18n.t('produce.confirmDelete'));
    const deleteBtn = h('button', { type: 'button', class: 'btn small secondary' }, i18n.t('produce.delete'));
    deleteBtn.addEventListener('click', () => { deleteBtn.hidden = true; confirmBtn.hidden = false; confirmBtn.focus(); });
    confirmBtn.addEventListener('click', () => removeProgram(p));
    body.append(h('tr', { dataset: { id: p.id } },
      h('td', {}, `${fmtTime(p.starts_at, lang)}–${fmtTime(p.ends_at, lang)}`),
      h('td', { class: 'ptitle' },
        h('a', { href: `/watch/${encodeURIComponent(p.id)}` }, title(p)), ' ',
        h('span', { class: `badge ${p.state}` }, i18n.t(`state.${p.state}`)), ' ',
        p.kind === 'premiere' ? h('span', { class: 'badge' }, i18n.t('kind.premiere')) : null,
        p.hosts && p.hosts.length ? h('div', { class: 'small muted' }, p.hosts.join(', ')) : null),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'btn small', onclick: () => edit(p) }, i18n.t('produce.editBtn')),
        deleteBtn, confirmBtn)));
  }
}

function defaultTimes() {
  const start = new Date(Date.now() + 3600 * 1000);
  start.setUTCMinutes(0, 0, 0);
  const end = new Date(start.getTime() + 3600 * 1000);
  return [isoToLocal(start.toISOString()), isoToLocal(end.toISOString())];
}

function resetForm() {
  state.editing = null;
  $('#form-h').textContent = i18n.t('produce.new');
  $('#form-h').dataset.i18n = 'produce.new';
  $('#program-form').reset();
  const [start, end] = defaultTimes();
  $('#f-start').value = start;
  $('#f-end').value = end;
  say($('#form-status'), '');
  clearMarks();
}

function edit(p) {
  state.editing = p;
  $('#form-h').textContent = i18n.t('produce.edit');
  $('#form-h').dataset.i18n = 'produce.edit';
  $('#f-title').value = p.title;
  $('#f-title-en').value = p.title_en || '';
  $('#f-description').value = p.description || '';
  $('#f-kind').value = p.kind;
  $('#f-start').value = isoToLocal(p.starts_at);
  $('#f-end').value = isoToLocal(p.ends_at);
  $('#f-hosts').value = (p.hosts || []).join(', ');
  say($('#form-status'), '');
  openDetails(p);
  $('#f-title').focus();
}

function formValues() {
  const hosts = $('#f-hosts').value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const body = {
    title: $('#f-title').value.trim(),
    kind: $('#f-kind').value,
    starts_at: localToIso($('#f-start').value),
    ends_at: localToIso($('#f-end').value),
    description: $('#f-description').value,
    hosts,
  };
  const titleEn = $('#f-title-en').value.trim();
  body.title_en = titleEn || null;
  return body;
}

async function save(event) {
  event.preventDefault();
  const status = $('#form-status');
  clearMarks();
  const body = formValues();
  if (!body.title) return say(status, i18n.t('produce.f.title') + ' ?', 'error');
  if (!body.starts_at || !body.ends_at) return say(status, i18n.t('produce.f.start') + ' ?', 'error');
  $('#save').disabled = true;
  try {
    let saved;
    if (state.editing) {
      saved = await patch(`/api/programs/${encodeURIComponent(state.editing.id)}`, { ...body, version: state.editing.version });
    } else {
      saved = await post('/api/programs', body);
    }
    const program = (saved && saved.program) || saved;
    await loadLineup();
    say(status, i18n.t('produce.saved'), 'ok');
    if (program && program.id) {
      state.editing = state.programs.find((p) => p.id === program.id) || program;
      openDetails(state.editing);
    }
  } catch (err) {
    say(status, errText(err), 'error');
    markField(err);
  } finally {
    $('#save').disabled = false;
  }
}

const FIELD_INPUTS = {
  title: '#f-title', title_en: '#f-title-en', description: '#f-description', kind: '#f-kind',
  starts_at: '#f-start', ends_at: '#f-end', hosts: '#f-hosts',
};

function clearMarks() {
  for (const sel of Object.values(FIELD_INPUTS)) $(sel).removeAttribute('aria-invalid');
}

/** Marks the input the server named in `error.field` (or both times on a conflict). */
function markField(err) {
  clearMarks();
  const error = (err && err.body && err.body.error) || {};
  const fields = err && err.code === 'program_conflict' ? ['starts_at', 'ends_at'] : [error.field];
  for (const field of fields) {
    const sel = FIELD_INPUTS[field];
    if (sel) $(sel).setAttribute('aria-invalid', 'true');
  }
}

async function removeProgram(p) {
  try {
    await del(`/api/programs/${encodeURIComponent(p.id)}`);
    say($('#lineup-status'), i18n.t('produce.deleted'), 'ok');
    if (state.editing && state.editing.id === p.id) resetForm();
    if (state.selected && state.selected.id === p.id) closeDetails();
    await loadLineup();
  } catch (err) {
    say($('#lineup-status'), errText(err), 'error');
    await loadLineup();
  }
}

// ---- details: numbers, key, media, simulcast ------------------------------------------------

function closeDetails() {
  state.selected = null;
  $('#detail-panel').hidden = true;
  if (state.statsTimer) clearInterval(state.statsTimer);
  clearTimeout(mediaTimer);
  if (state.room) state.room.close();
  state.room = null;
  if (state.health) state.health.stop();
  state.health = null;
  stopPreview();
  if (state.event) state.event.open(null);
}

function openDetails(p) {
  closeDetails();
  state.selected = p;
  $('#detail-panel').hidden = false;
  $('#detail-h').textContent = title(p);
  $('#key-box').hidden = true;
  $('#key-value').textContent = '';
  say($('#key-status'), '');
  say($('#media-status'), '');
  $('#media-box').hidden = p.kind !== 'premiere';
  $('#report-link').href = `/produce/report/${encodeURIComponent(p.id)}`;
  for (const dd of document.querySelectorAll('#numbers dd')) dd.textContent = '—';
  loadMediaStatus();
  renderCue();
  loadReplay();
  const charts = clear($('#charts'));
  state.charts = {
    viewers: makeChart(charts, i18n.t('produce.viewers')),
    chat: makeChart(charts, i18n.t('produce.chatRate')),
    hearts: makeChart(charts, i18n.t('produce.heartRate')),
  };
  refreshStats();
  state.statsTimer = setInterval(refreshStats, 5000);
  state.health = watchHealth($('#health'), p.id);
  watchRoom(p);
  loadSimulcast();
  state.event.open(p);
}

// ---- preview: WHEP from the publisher, or the viewers' HLS when nobody publishes -------------

function stopPreview() {
  const { preview } = state;
  state.preview = null;
  if (preview) preview.stop();
  $('#preview').srcObject = null;
  $('#preview-stop').hidden = true;
  say($('#preview-status'), '');
}

async function startPreview() {
  const p = state.selected;
  if (!p) return;
  stopPreview();
  const video = $('#preview');
  try {
    state.preview = await watch(`/whep/${encodeURIComponent(p.id)}`, video, csrf());
    say($('#preview-status'), i18n.t('produce.previewWhep'), 'info');
  } catch (err) {
    if (err.code !== 'not_publishing' || (p.state !== 'live' && p.kind !== 'premiere')) {
      say($('#preview-status'), errText(err), 'error');
      return;
    }
    // Nobody publishes (the demo source, a premiere): show what the viewers get.
    const player = new Player(video, h('select', { hidden: true }), () => {}, () => i18n.t('watch.auto'));
    player.play(`/hls/${encodeURIComponent(p.id)}/master.m3u8`);
    state.preview = player;
    say($('#preview-status'), i18n.t('produce.previewHls'), 'info');
  }
  $('#preview-stop').hidden = false;
}

const WINDOW_MINUTES = 30;

/** The last 30 minutes as a dense series (minutes without a row count as 0). */
function perMinute(rows, field) {
  const byMinute = new Map(rows.map((r) => [Math.floor(r.minute / 60), Number(r[field]) || 0]));
  const nowMinute = Math.floor(Date.now() / 60000);
  const out = [];
  for (let m = nowMinute - WINDOW_MINUTES + 1; m <= nowMinute; m += 1) out.push(byMinute.get(m) || 0);
  return out;
}

async function refreshStats() {
  const p = state.selected;
  if (!p || !state.charts) return;
  try {
    const data = await get(`/api/programs/${encodeURIComponent(p.id)}/stats`);
    say($('#stats-status'), '');
    const rows = Array.isArray(data.per_minute) ? data.per_minute : [];
    for (const dd of document.querySelectorAll('#numbers dd')) {
      const value = data[dd.dataset.stat];
      dd.textContent = typeof value === 'number' ? value.toLocaleString(i18n.currentLang() === 'en' ? 'en-US' : 'ko-KR') : '—';
    }
    state.charts.viewers.push(Number(data.viewers) || 0);
    state.charts.chat.set(perMinute(rows, 'messages'));
    state.charts.hearts.set(perMinute(rows, 'hearts'));
  } catch (err) {
    say($('#stats-status'), `${i18n.t('produce.noStats')} (${errText(err)})`, 'info');
  }
}

/** The program's room moves the charts and numbers between stats polls. (Every program's state
 * changes reach producers' connections: the lineup reloads on each, see main.) */
function watchRoom(p) {
  state.room = openRoom(state.socket, `program:${p.id}`, {
    viewers: (count) => {
      state.charts.viewers.push(count);
      $('#numbers dd[data-stat="viewers"]').textContent = String(count);
    },
    hearts: (hearts) => {
      state.charts.hearts.setLast(hearts.per_minute);
      $('#numbers dd[data-stat="hearts_this_minute"]').textContent = String(hearts.per_minute);
    },
    program: (program) => {
      loadLineup();
      if (state.selected && state.selected.id === program.id) {
        Object.assign(state.selected, program);
        renderCue();
        loadReplay();
      }
    },
  });
}

// ---- on the air by hand, and the replay ------------------------------------------------------

/** The open program's state, and the cue its state allows: start before, end while live. */
function renderCue() {
  const p = state.selected;
  if (!p) return;
  $('#cue-state').textContent = `${i18n.t('produce.stateNow')}: ${i18n.t(`state.${p.state}`)}`;
  $('#cue-start').hidden = !['scheduled', 'lobby'].includes(p.state);
  $('#cue-end').hidden = p.state !== 'live';
}

async function cue(action) {
  const p = state.selected;
  if (!p) return;
  try {
    Object.assign(p, await post(`/api/programs/${encodeURIComponent(p.id)}/${action}`));
    say($('#cue-status'), i18n.t(action === 'start' ? 'host.started' : 'host.ended'), 'ok');
    renderCue();
    await loadLineup();
  } catch (err) {
    say($('#cue-status'), errText(err), 'error');
  }
}

function replayPath(p) {
  return `/api/programs/${encodeURIComponent(p.id)}/replay`;
}

/** The replay of the open program, when it is over: its state, thumbnail, cut, visibility. */
async function loadReplay() {
  const p = state.selected;
  const box = $('#replay-box');
  if (!p || !['ended', 'replay'].includes(p.state)) {
    box.hidden = true;
    return;
  }
  try {
    showReplay(await get(replayPath(p)));
  } catch (err) {
    box.hidden = false;
    say($('#replay-status'), errText(err), 'error');
  }
}

function showReplay(replay) {
  const p = state.selected;
  if (!p || replay.program_id !== p.id) return;
  $('#replay-box').hidden = false;
  $('#replay-box').dataset.state = replay.state;
  const editable = replay.state === 'ready' || replay.state === 'hidden';
  let text = i18n.t(`produce.replay.${replay.state}`);
  if (editable) text += ` · ${i18n.t('produce.replayLength', { s: replay.duration.toFixed(1), all: replay.recorded.toFixed(1) })}`;
  $('#replay-state').textContent = text;
  $('#replay-edit').hidden = !editable;
  const thumbBox = clear($('#replay-thumb-box'));
  if (editable && replay.thumbnail_file) {
    thumbBox.append(h('img', {
      class: 'replay-thumb', id: 'replay-thumb', src: replay.thumbnail_file,
      alt: `${title(p)} · ${i18n.t('produce.thumbnail')}`,
    }));
  }
  if (!editable) return;
  $('#replay-in').value = String(replay.in);
  $('#replay-out').value = String(replay.out);
  $('#replay-in').max = $('#replay-out').max = String(replay.recorded);
  $('#replay-thumb-at').value = String(replay.thumbnail_at ?? 0);
  $('#replay-thumb-at').max = String(replay.duration);
  $('#replay-hide').hidden = replay.hidden;
  $('#replay-show').hidden = !replay.hidden;
  $('#replay-delete').hidden = false;
  $('#replay-delete-confirm').hidden = true;
}

async function editReplay(body) {
  const p = state.selected;
  if (!p) return;
  for (const el of [$('#replay-in'), $('#replay-out'), $('#replay-thumb-at')]) el.removeAttribute('aria-invalid');
  try {
    showReplay(await patch(replayPath(p), body));
    say($('#replay-status'), i18n.t('produce.saved'), 'ok');
    await loadLineup();
  } catch (err) {
    say($('#replay-status'), errText(err), 'error');
    const field = err && err.body && err.body.error && err.body.error.field;
    const input = { in: '#replay-in', out: '#replay-out', thumbnail_at: '#replay-thumb-at' }[field];
    if (input) $(input).setAttribute('aria-invalid', 'true');
  }
}

function seconds(input) {
  const value = input.value.trim();
  return value === '' ? null : Number(value);
}

async function deleteReplay() {
  const p = state.selected;
  if (!p) return;
  try {
    await del(replayPath(p));
    say($('#replay-status'), i18n.t('produce.deleted'), 'ok');
    await loadLineup();
    await loadReplay();
  } catch (err) {
    say($('#replay-status'), errText(err), 'error');
  }
}

async function issueKey() {
  const p = state.selected;
  if (!p) return;
  try {
    const data = await post(`/api/programs/${encodeURIComponent(p.id)}/stream-key`);
    $('#key-value').textContent = data.stream_key;
    $('#key-box').hidden = false;
    say($('#key-status'), '');
  } catch (err) {
    say($('#key-status'), errText(err), 'error');
  }
}

/** A new caption key: the ingestion URL a captioning service posts to, shown once. */
async function issueCaptionKey() {
  const p = state.selected;
  if (!p) return;
  try {
    const data = await post(`/api/programs/${encodeURIComponent(p.id)}/caption-key`);
    $('#caption-key-value').textContent = data.ingest_url;
    $('#caption-key-box').hidden = false;
    say($('#caption-key-status'), '');
  } catch (err) {
    say($('#caption-key-status'), errText(err), 'error');
  }
}

let mediaTimer = null;

/** Shows the premiere file's state (none, transcoding, ready, failed); polls while it changes. */
async function loadMediaStatus() {
  clearTimeout(mediaTimer);
  const p = state.selected;
  if (!p || p.kind !== 'premiere') return;
  try {
    const status = await get(`/api/programs/${encodeURIComponent(p.id)}/media`);
    const key = `produce.media.${status.state}`;
    let text = i18n.has(key) ? i18n.t(key) : String(status.state);
    if (typeof status.duration === 'number') text += ` · ${Math.round(status.duration)} s`;
    if (status.state === 'failed' && status.error) text += ` — ${status.error}`;
    say($('#media-status'), text, status.state === 'failed' ? 'error' : status.state === 'ready' ? 'ok' : 'info');
    if (status.state === 'transcoding') mediaTimer = setTimeout(loadMediaStatus, 3000);
  } catch (err) {
    say($('#media-status'), errText(err), 'error');
  }
}

async function uploadMedia() {
  const p = state.selected;
  const file = $('#media-file').files[0];
  if (!p || !file) return;
  const status = $('#media-status');
  say(status, `${file.name} …`, 'info');
  $('#media-upload').disabled = true;
  try {
    await api('POST', `/api/programs/${encodeURIComponent(p.id)}/media`, file, { 'Content-Type': file.type || 'application/octet-stream' });
    say(status, i18n.t('produce.uploaded'), 'ok');
    await loadMediaStatus();
  } catch (err) {
    say(status, errText(err), 'error');
  } finally {
    $('#media-upload').disabled = false;
  }
}

function simulcastPath(p) {
  return `/api/programs/${encodeURIComponent(p.id)}/simulcast`;
}

async function loadSimulcast() {
  const p = state.selected;
  const list = clear($('#simulcast-list'));
  if (!p) return;
  try {
    const data = await get(simulcastPath(p));
    $('#simulcast-box').hidden = false;
    const targets = (data && (data.destinations || data.targets)) || [];
    for (const target of targets) {
      list.append(h('li', { dataset: { id: String(target.id) } }, h('span', { class: 'secret' }, target.url_masked || target.url || target.id), ' ',
        target.state ? h('span', { class: 'badge' }, i18n.has(`simulcast.${target.state}`) ? i18n.t(`simulcast.${target.state}`) : target.state) : null, ' ',
        h('button', { type: 'button', class: 'btn small secondary', onclick: () => removeTarget(target) }, i18n.t('produce.remove'))));
    }
  } catch (err) {
    if (err.status === 404 && err.code === 'not_found') $('#simulcast-box').hidden = true;
    else say($('#simulcast-status'), errText(err), 'error');
  }
}

async function addTarget() {
  const p = state.selected;
  const url = $('#simulcast-url').value.trim();
  const captionUrl = $('#simulcast-caption-url').value.trim();
  if (!p || !url) return;
  try {
    await post(simulcastPath(p), captionUrl ? { url, caption_url: captionUrl } : { url });
    $('#simulcast-url').value = '';
    $('#simulcast-caption-url').value = '';
    say($('#simulcast-status'), i18n.t('produce.saved'), 'ok');
    await loadSimulcast();
  } catch (err) {
    say($('#simulcast-status'), errText(err), 'error');
  }
}

async function removeTarget(target) {
  const p = state.selected;
  try {
    await del(`${simulcastPath(p)}/${encodeURIComponent(target.id)}`);
    await loadSimulcast();
  } catch (err) {
    say($('#simulcast-status'), errText(err), 'error');
  }
}

// ---- import / export ------------------------------------------------------------------------

async function exportLineup() {
  try {
    const data = { programs: await fetchPrograms() };
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: 'innotv-lineup.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (err) {
    say($('#lineup-status'), errText(err), 'error');
  }
}

/**
 * Imports a lineup file ({"programs": [...]} as exported, or a bare list) through
 * POST /api/programs/import: the server checks all of it and stores all of it or nothing.
 * Programs that carry an id (an export) are updated in place; the others are added.
 */
async function importLineup() {
  const file = $('#import-file').files[0];
  $('#import-file').value = '';
  if (!file) return;
  const status = $('#lineup-status');
  let doc;
  try {
    const parsed = JSON.parse(await file.text());
    doc = Array.isArray(parsed) ? { programs: parsed } : parsed;
    if (!doc || !Array.isArray(doc.programs)) throw new Error('{"programs": [...]}');
  } catch (err) {
    return say(status, `JSON: ${err.message}`, 'error');
  }
  try {
    const result = await post('/api/programs/import', doc);
    say(status, i18n.t('produce.imported', { n: result.created + result.updated }), 'ok');
  } catch (err) {
    say(status, `${i18n.t('produce.importRefused')} ${errText(err)}`, 'error');
  }
  await loadLineup();
}

async function main() {
  i18n.init();
  const user = await requireRole($('#login-box'), $('#who'), 'producer');
  $('#desk').hidden = false;
  state.socket = connect();
  state.socket.on('program', () => loadLineup());
  // This person's login session ended (account removed or changed): log in again.
  state.socket.on('notice', (notice) => { if (notice && notice.code === 'session_ended') location.reload(); });
  $('#preview-start').addEventListener('click', startPreview);
  $('#preview-stop').addEventListener('click', stopPreview);
  manageAccounts(user.username);
  state.event = new EventDesk();
  state.event.loadCampaigns();
  resetForm();
  $('#program-form').addEventListener('submit', save);
  $('#cancel').addEventListener('click', () => { resetForm(); closeDetails(); });
  $('#new-program').addEventListener('click', () => { resetForm(); closeDetails(); $('#f-title').focus(); });
  $('#issue-key').addEventListener('click', issueKey);
  $('#media-upload').addEventListener('click', uploadMedia);
  $('#simulcast-add').addEventListener('click', addTarget);
  $('#issue-caption-key').addEventListener('click', issueCaptionKey);
  $('#cue-start').addEventListener('click', () => cue('start'));
  $('#cue-end').addEventListener('click', () => cue('end'));
  $('#replay-cut').addEventListener('click', () => editReplay({ in: seconds($('#replay-in')), out: seconds($('#replay-out')) }));
  $('#replay-thumb-pick').addEventListener('click', () => editReplay({ thumbnail_at: seconds($('#replay-thumb-at')) ?? 0 }));
  $('#replay-hide').addEventListener('click', () => editReplay({ hidden: true }));
  $('#replay-show').addEventListener('click', () => editReplay({ hidden: false }));
  $('#replay-delete').addEventListener('click', () => {
    $('#replay-delete').hidden = true;
    $('#replay-delete-confirm').hidden = false;
    $('#replay-delete-confirm').focus();
  });
  $('#replay-delete-confirm').addEventListener('click', deleteReplay);
  $('#export').addEventListener('click', exportLineup);
  $('#import').addEventListener('click', () => $('#import-file').click());
  $('#import-file').addEventListener('change', importLineup);
  i18n.onLangChange(() => {
    renderLineup();
    if (state.selected) $('#detail-h').textContent = title(state.selected);
  });
  await loadLineup();
  // Other producers' edits and the scheduler's state changes show up within 20 s.
  setInterval(loadLineup, 20000);
}

main();
