// Stream health, shared by the host console and the producer desk: what feeds the program, the
// publisher's connection, the picture size, frame rate and bitrate the server measured over the
// last seconds, and what was lost. Polls GET /api/programs/{id}/health every 2 s.
import { get } from './api.js';
import { clear, h } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const EVERY_MS = 2000;

/** 'ok' | 'warn' | 'bad' for the whole stream: what the badge on the panel says. */
export function healthLevel(health) {
  if (!health || health.source === 'none') return 'idle';
  const pub = health.publisher;
  if (pub && pub.connection !== 'connected') return 'bad';
  if (health.mode === 'slate') return 'bad';
  const input = health.input;
  if (!input) return 'warn';
  if (input.fps < 20 || (pub && pub.seconds_since_media > 1)) return 'warn';
  return 'ok';
}

function rows(health) {
  const t = (key, vars) => i18n.t(key, vars);
  const input = health.input;
  const pub = health.publisher;
  const source = i18n.has(`health.source.${health.source}`) ? t(`health.source.${health.source}`) : health.source;
  const mode = i18n.has(`health.mode.${health.mode}`) ? t(`health.mode.${health.mode}`) : health.mode;
  const out = [
    ['source', t('health.source'), source],
    ['mode', t('health.mode'), mode],
  ];
  if (pub) {
    const state = i18n.has(`health.conn.${pub.connection}`) ? t(`health.conn.${pub.connection}`) : pub.connection;
    out.push(['connection', t('health.connection'), state]);
  }
  out.push(
    ['resolution', t('health.resolution'), input && input.width ? `${input.width}×${input.height}` : '—'],
    ['fps', t('health.fps'), input ? t('health.fpsValue', { n: input.fps }) : '—'],
    ['bitrate', t('health.bitrate'), input && input.kbps != null ? t('health.kbps', { n: Math.round(input.kbps) }) : '—'],
    ['dropped', t('health.dropped'), t('health.frames', { n: health.dropped })],
    ['errors', t('health.errors'), t('health.frames', { n: (health.decode_errors || 0) + (health.errors || 0) })],
  );
  return out;
}

function render(box, health) {
  const list = clear(box.querySelector('dl'));
  const level = healthLevel(health);
  box.dataset.level = level;
  box.dataset.source = health.source;
  const badge = box.querySelector('.health-badge');
  badge.textContent = i18n.t(`health.level.${level}`);
  badge.className = `badge health-badge ${level}`;
  for (const [key, label, value] of rows(health)) {
    list.append(h('dt', {}, label), h('dd', { dataset: { key } }, value));
  }
}

/**
 * Shows `programId`'s stream health in `box` (a panel holding a `.health-badge`, a `<dl>` and a
 * `.status` line) until `stop()`.
 */
export function watchHealth(box, programId) {
  let timer = null;
  let last = null;
  let stopped = false;
  const status = box.querySelector('.status');
  async function poll() {
    try {
      last = await get(`/api/programs/${encodeURIComponent(programId)}/health`);
      if (stopped) return;
      status.hidden = true;
      render(box, last);
    } catch (err) {
      if (stopped) return;
      status.hidden = false;
      status.dataset.kind = 'error';
      status.textContent = errText(err);
    }
    if (!stopped) timer = setTimeout(poll, EVERY_MS);
  }
  const relabel = () => { if (last) render(box, last); };
  i18n.onLangChange(relabel);
  poll();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      i18n.offLangChange(relabel);
    },
  };
}
