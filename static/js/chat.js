// The message list shared by the viewer page, the halls and the host console: messages in, ids
// deleted, a pinned line, system notices. Text goes in as text only. Messages of hosts and
// producers carry a badge (their `role`) everyone sees; hosts get per-message moderation
// buttons on viewers' messages.
import { clear, fmtTime, h } from './dom.js';
import * as i18n from './i18n.js';

const MAX_MESSAGES = 300;

/** Refusals of `chat` (and `question`) that the server also announces with a `notice` event:
 * the page shows the notice, not the refusal a second time. */
export const NOTICED = new Set(['read_only', 'banned', 'timed_out', 'slow_mode', 'blocked_word']);

/** A `notice` ({code, message, room, until?, retry_after?}) in the reader's language: our own
 * words for known codes, the server's otherwise. */
export function noticeText(notice) {
  if (!i18n.has(`err.${notice.code}`)) return notice.message || notice.code;
  let text = i18n.t(`err.${notice.code}`);
  if (notice.code === 'timed_out' && notice.until) {
    text += ` (${i18n.t('chat.until', { time: fmtTime(new Date(notice.until).toISOString(), i18n.currentLang()) })})`;
  }
  if (notice.code === 'slow_mode' && notice.retry_after) text += ` (${notice.retry_after} s)`;
  return text;
}

/**
 * Applies a `join` ack's history: after a reconnect with `since`, the missed messages and
 * deletions are added; when the server could not recover (`recovered: false`) or on a first
 * join, the list starts again from the recent messages.
 */
export function applyHistory(view, ack, rejoin) {
  if (rejoin && ack.recovered !== false) view.add(ack.messages);
  else view.reset(ack.messages);
  view.remove(ack.deleted);
}

function isStaff(role) {
  return role === 'host' || role === 'producer';
}

/** The badge of a host's or producer's message (and of a pinned one). */
export function roleBadge(role) {
  return h('span', { class: `role-badge ${role}`, 'data-i18n': `badge.${role}` }, i18n.t(`badge.${role}`));
}

export class ChatView {
  /**
   * @param {HTMLElement} list  a <ul> for the messages
   * @param {object} [opts]
   * @param {HTMLElement} [opts.pinned]  where the pinned message shows
   * @param {(action: string, item: object) => void} [opts.moderate]  host actions per message
   */
  constructor(list, opts = {}) {
    this.list = list;
    this.pinnedEl = opts.pinned || null;
    this.moderate = opts.moderate || null;
    this.seen = new Set();
    this.lastId = null;
  }

  reset(items = []) {
    clear(this.list);
    this.seen.clear();
    this.add(items);
  }

  /** A grey line shown while the list is empty (e.g. "be the first to comment"). */
  placeholder(text) {
    if (!this.list.querySelector('li[data-id]')) this.list.append(h('li', { class: 'system empty' }, text));
  }

  add(items = []) {
    if (items.length) for (const el of this.list.querySelectorAll('li.empty')) el.remove();
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 60;
    for (const item of items) {
      if (!item || item.id === undefined || this.seen.has(String(item.id))) continue;
      this.seen.add(String(item.id));
      this.lastId = item.id;
      this.list.append(this._render(item));
    }
    while (this.list.children.length > MAX_MESSAGES) {
      const first = this.list.firstElementChild;
      if (first.dataset.id) this.seen.delete(first.dataset.id);
      first.remove();
    }
    if (nearBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  _render(item) {
    const nickname = item.nickname || i18n.t('chat.anon');
    const staff = isStaff(item.role);
    const li = h('li', { class: staff ? 'staff' : null, dataset: { id: String(item.id), viewer: String(item.viewer || ''), role: staff ? item.role : 'viewer' } },
      staff ? roleBadge(item.role) : null,
      h('span', { class: 'nick' }, nickname),
      h('span', { class: 'text' }, String(item.text ?? '')));
    if (this.moderate && !staff) {
      const act = (action) => () => this.moderate(action, item);
      li.append(h('span', { class: 'mod' },
        h('button', { type: 'button', class: 'btn small secondary', 'data-action': 'delete', onclick: act('delete') }, i18n.t('host.delete')),
        h('button', { type: 'button', class: 'btn small secondary', 'data-action': 'timeout', onclick: act('timeout') }, i18n.t('host.timeout')),
        h('button', { type: 'button', class: 'btn small danger', 'data-action': 'ban', onclick: act('ban') }, i18n.t('host.ban')),
        h('button', { type: 'button', class: 'btn small secondary', 'data-action': 'pin', onclick: act('pin') }, i18n.t('host.pin'))));
    }
    return li;
  }

  remove(ids = []) {
    for (const id of ids) {
      const li = this.list.querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
      if (li) li.remove();
    }
  }

  system(text) {
    const li = h('li', { class: 'system', role: 'status' }, text);
    this.list.append(li);
    this.list.scrollTop = this.list.scrollHeight;
  }

  /** The pinned message (a `msg`), or null when nothing is pinned. */
  setPinned(message) {
    if (!this.pinnedEl) return;
    clear(this.pinnedEl);
    this.pinnedEl.hidden = !message;
    if (!message) return;
    // append() would write a null as the text "null": only the parts there are.
    const parts = [h('strong', {}, i18n.t('chat.pinned'))];
    if (isStaff(message.role)) parts.push(roleBadge(message.role));
    if (message.nickname) parts.push(h('span', { class: 'nick' }, message.nickname));
    this.pinnedEl.append(...parts, String(message.text));
  }
}
