// Captions on the viewer page: the overlay over the player (CC toggle, remembered) drawn from the
// HLS subtitle track's active cues, so it is in step with the picture; and the transcript panel
// (대본): while live, the stored lines as they arrive on the socket (the `captions` event) after
// the lines so far (GET /api/programs/{id}/captions); for a replay, the replay's whole track
// (/vod/{id}/captions-<lang>.vtt, on the replay's timeline): searchable, each line jumping to its
// moment, correctable by a producer. Every caption is inserted as text. A page without the
// transcript panel (the embeddable player) gets the overlay, the toggle and the language only.
import { api, get } from './api.js';
import { $, clear, fmtTime, h, say } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const CC_KEY = 'innotv.cc';
const LANG_KEY = 'innotv.ccLang';
const SHOWN = 2; // lines on screen at most (the newest)
const CUE_ID = /c(\d+)-(\d+)$/;

// The CC choice and language are remembered where the browser lets us: a frame on another site
// (the portal's embed) or a private window may refuse storage, and then they last for the page.
function remembered(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage refused: the choice lasts for this page only
  }
}

/** WebVTT cue text as plain text (our cues escape only &, < and >). */
export function cueText(raw) {
  return String(raw).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The cues of a whole WebVTT file: [{id, start, end, text}] (our own files: id line, timing, one text line). */
export function parseVtt(text) {
  const out = [];
  const seconds = (t) => t.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  for (const block of text.replace(/\r/g, '').split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    const timing = lines.findIndex((l) => l.includes('-->'));
    if (timing < 0) continue;
    const [start, end] = lines[timing].split('-->').map((s) => seconds(s.trim().split(' ')[0]));
    out.push({ id: timing > 0 ? lines[timing - 1] : '', start, end, text: cueText(lines.slice(timing + 1).join(' ')) });
  }
  return out;
}

export class CaptionView {
  constructor(video) {
    this.video = video;
    this.layer = $('#cc-layer');
    this.list = $('#transcript'); // null: no transcript on this page (the embed)
    this.on = remembered(CC_KEY) !== '0';
    this.lang = remembered(LANG_KEY) || 'ko';
    this.languages = ['ko'];
    this.programId = null;
    this.mode = 'none';
    this.lines = []; // live: stored lines; replay: cues of the .vtt
    this.track = null;
    this.canEdit = false;
    this.loadSeq = 0;
    $('#cc').addEventListener('click', () => this.toggle());
    $('#cc-lang').addEventListener('change', () => {
      this.lang = $('#cc-lang').value;
      remember(LANG_KEY, this.lang);
      this.pickTrack();
      this.reload();
    });
    if (this.list) $('#transcript-search').addEventListener('input', () => this.renderList());
    video.textTracks.addEventListener('addtrack', () => this.pickTrack());
    video.textTracks.addEventListener('change', () => this.pickTrack());
    this.renderToggle();
  }

  /** The hls.js instance of the player: show our language's subtitle track (drawn by us). */
  attachHls(hls, Hls) {
    const choose = () => {
      const index = hls.subtitleTracks.findIndex((t) => t.lang === this.lang);
      hls.subtitleTrack = index >= 0 ? index : (hls.subtitleTracks.length ? 0 : -1);
      this.pickTrack();
    };
    hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, choose);
    hls.on(Hls.Events.SUBTITLE_TRACK_SWITCH, () => this.pickTrack());
  }

  /** The text track of our language: hidden (we draw its cues), the others off. */
  pickTrack() {
    const tracks = [...this.video.textTracks].filter((t) => t.kind === 'subtitles' || t.kind === 'captions');
    const chosen = tracks.find((t) => t.language === this.lang) || tracks[0] || null;
    for (const t of tracks) {
      if (t === chosen) {
        if (t.mode !== 'hidden') t.mode = 'hidden';
      } else if (t.mode !== 'disabled') {
        t.mode = 'disabled';
      }
    }
    if (chosen !== this.track) {
      if (this.track) this.track.removeEventListener('cuechange', this.draw);
      this.track = chosen;
      if (chosen) chosen.addEventListener('cuechange', this.draw);
    }
    this.draw();
  }

  /** The newest active cues, one per caption line (a corrected line's newest text). */
  draw = () => {
    const layer = clear(this.layer);
    layer.hidden = !this.on;
    if (!this.track || !this.track.activeCues) return;
    const byLine = new Map();
    for (const cue of [...this.track.activeCues]) {
      const match = CUE_ID.exec(cue.id || '');
      const key = match ? match[1] : `${cue.startTime}`;
      const rev = match ? Number(match[2]) : 0;
      const seen = byLine.get(key);
      if (!seen || rev >= seen.rev) byLine.set(key, { rev, start: cue.startTime, text: cueText(cue.text) });
    }
    const shown = [...byLine.values()].sort((a, b) => a.start - b.start).slice(-SHOWN);
    for (const line of shown) layer.append(h('p', {}, line.text));
  };

  toggle() {
    this.on = !this.on;
    remember(CC_KEY, this.on ? '1' : '0');
    this.renderToggle();
    this.draw();
  }

  renderToggle() {
    const button = $('#cc');
    button.setAttribute('aria-pressed', String(this.on));
    button.title = i18n.t(this.on ? 'cc.on' : 'cc.off');
  }

  /** The program shown: 'live' (socket lines), 'replay' (the replay's track) or 'none'. */
  async show(program, mode, canEdit) {
    this.programId = program ? program.id : null;
    this.mode = program ? mode : 'none';
    this.canEdit = canEdit && this.mode === 'replay';
    this.lines = [];
    this.renderList();
    await this.reload();
  }

  async reload() {
    const seq = (this.loadSeq += 1);
    const id = this.programId && encodeURIComponent(this.programId);
    if (this.list) $('#transcript-downloads').hidden = this.mode !== 'replay';
    if (!id || this.mode === 'none') return;
    try {
      if (this.mode === 'live') {
        const data = await get(`/api/programs/${id}/captions`);
        if (seq !== this.loadSeq) return;
        this.setLanguages(data.languages);
        this.lines = [];
        this.add(data.items);
      } else if (this.list) {
        const response = await fetch(`/vod/${id}/captions-${encodeURIComponent(this.lang)}.vtt`, { cache: 'no-cache' });
        if (seq !== this.loadSeq) return;
        this.lines = response.ok ? parseVtt(await response.text()) : [];
        for (const fmt of ['vtt', 'srt']) $(`#transcript-${fmt}`).href = `/vod/${id}/captions-${encodeURIComponent(this.lang)}.${fmt}`;
        this.renderList();
      }
    } catch (err) {
      if (this.list) say($('#transcript-status'), errText(err), 'error');
    }
  }

  setLanguages(languages) {
    this.languages = languages;
    if (!languages.includes(this.lang)) this.lang = languages[0];
    const select = clear($('#cc-lang'));
    for (const lang of languages) select.append(h('option', { value: lang, selected: lang === this.lang }, lang));
    select.hidden = languages.length < 2;
  }

  /** Stored lines from the socket (live): new ones appended, corrections replace. */
  add(items) {
    if (this.mode !== 'live') return;
    for (const item of items) {
      if (item.lang !== this.lang) continue;
      const at = this.lines.findIndex((l) => l.id === item.id);
      if (at >= 0) this.lines[at] = item;
      else this.lines.push(item);
    }
    this.renderList();
  }

  renderList() {
    const list = this.list;
    if (!list) return;
    const follow = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    clear(list);
    const query = $('#transcript-search').value.trim().toLowerCase();
    const shown = this.lines.filter((l) => !query || l.text.toLowerCase().includes(query));
    if (!this.lines.length) list.append(h('li', { class: 'muted' }, i18n.t('transcript.empty')));
    else if (!shown.length) list.append(h('li', { class: 'muted' }, i18n.t('transcript.none')));
    for (const line of shown) list.append(this.mode === 'replay' ? this.replayItem(line) : this.liveItem(line));
    if (follow && !query) list.scrollTop = list.scrollHeight;
  }

  liveItem(line) {
    const lang = i18n.currentLang();
    return h('li', { dataset: { id: String(line.id) } },
      h('span', { class: 'time' }, fmtTime(new Date(line.at).toISOString(), lang)), ' ',
      h('span', { class: 'text' }, line.text));
  }

  replayItem(cue) {
    const stamp = clock(cue.start);
    const jump = h('button', {
      type: 'button', class: 'linklike', 'aria-label': i18n.t('transcript.jump', { time: stamp, text: cue.text }),
      onclick: () => {
        this.video.currentTime = cue.start + 0.05;
        this.video.play().catch(() => {});
      },
    }, h('span', { class: 'time' }, stamp), ' ', h('span', { class: 'text' }, cue.text));
    const item = h('li', { dataset: { start: String(cue.start), id: cue.id } }, jump);
    const match = CUE_ID.exec(cue.id);
    if (this.canEdit && match) item.append(' ', this.editButton(Number(match[1]), cue.text));
    return item;
  }

  editButton(lineId, text) {
    const button = h('button', { type: 'button', class: 'btn small secondary', dataset: { action: 'edit' } }, i18n.t('transcript.edit'));
    button.addEventListener('click', () => {
      const input = h('input', { type: 'text', maxlength: 200, value: text, 'aria-label': i18n.t('transcript.edit') });
      const save = h('button', { type: 'button', class: 'btn small', dataset: { action: 'save' } }, i18n.t('transcript.save'));
      save.addEventListener('click', async () => {
        try {
          await api('PATCH', `/api/programs/${encodeURIComponent(this.programId)}/captions/${lineId}`, { text: input.value });
          say($('#transcript-status'), i18n.t('transcript.saved'), 'ok');
          setTimeout(() => this.reload(), 1500);
        } catch (err) {
          say($('#transcript-status'), errText(err), 'error');
        }
      });
      button.replaceWith(input, save);
      input.focus();
    });
    return button;
  }
}

function clock(seconds) {
  const s = Math.floor(seconds);
  const pad = (n) => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}` : `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}
