// The vote card: the question and choices while a poll is open, "voted" once this viewer has
// voted, and the counts with the winner after the host reveals the result.
import { clear, h } from './dom.js';
import * as i18n from './i18n.js';

/** Choices as [{id, text}] whatever shape the server used (strings or objects). */
export function choicesOf(poll) {
  const list = poll.choices || poll.options || [];
  return list.map((c, index) => (typeof c === 'object' && c !== null
    ? { id: c.id ?? index, text: String(c.text ?? c.label ?? c.title ?? '') }
    : { id: index, text: String(c) }));
}

/** Counts keyed by choice id, from `counts`/`results`/`tally` (array or object). */
export function countsOf(poll) {
  const raw = poll.counts || poll.results || poll.tally || null;
  if (!raw) return null;
  const out = new Map();
  if (Array.isArray(raw)) raw.forEach((v, i) => out.set(i, Number(typeof v === 'object' ? v.count ?? v.votes ?? 0 : v)));
  else for (const [k, v] of Object.entries(raw)) out.set(/^\d+$/.test(k) ? Number(k) : k, Number(v));
  for (const c of poll.choices || []) {
    if (c && typeof c === 'object' && c.id !== undefined && typeof c.count === 'number') out.set(c.id, c.count);
  }
  return out;
}

export function pollState(poll) {
  if (poll.revealed || poll.state === 'revealed') return 'revealed';
  if (poll.state === 'closed' || poll.closed || poll.open === false) return 'closed';
  return 'open';
}

/**
 * @param {HTMLElement} card
 * @param {object|null} poll
 * @param {{voted?: any, onVote?: (choice) => void, showCounts?: boolean}} opts
 */
export function renderPoll(card, poll, opts = {}) {
  clear(card);
  if (!poll || (!poll.id && poll.id !== 0)) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  card.dataset.pollId = String(poll.id);
  const stateNow = pollState(poll);
  card.dataset.state = stateNow;
  card.append(h('p', { class: 'small muted' }, stateNow === 'revealed' ? i18n.t('poll.result') : i18n.t('poll.title')),
    h('p', { class: 'q' }, String(poll.question ?? poll.title ?? '')));
  const choices = choicesOf(poll);
  const counts = countsOf(poll);
  const list = h('div', { class: 'choices' });
  if (stateNow === 'revealed' || (opts.showCounts && counts)) {
    const total = counts ? [...counts.values()].reduce((a, b) => a + b, 0) : 0;
    const best = counts ? Math.max(0, ...counts.values()) : 0;
    for (const c of choices) {
      const n = counts ? counts.get(c.id) ?? counts.get(String(c.id)) ?? 0 : 0;
      const pct = total ? Math.round((n / total) * 100) : 0;
      const bar = h('span', { class: `w${Math.min(100, Math.round(pct / 5) * 5)}` });
      list.append(h('div', { class: stateNow === 'revealed' && n === best && n > 0 ? 'winner' : '', dataset: { choice: String(c.id) } },
        h('div', { class: 'row' }, h('span', { class: 'grow' }, c.text), h('span', { class: 'count' }, `${i18n.t('poll.votes', { n })} (${pct}%)`)),
        h('div', { class: 'bar', role: 'presentation' }, bar)));
    }
  } else if (stateNow === 'open' && opts.voted === undefined && opts.onVote) {
    for (const c of choices) {
      list.append(h('button', { type: 'button', class: 'btn secondary', dataset: { choice: String(c.id) }, onclick: () => opts.onVote(c.id) }, c.text));
    }
  } else if (stateNow === 'open') {
    for (const c of choices) {
      const mine = opts.voted !== undefined && String(opts.voted) === String(c.id);
      list.append(h('p', { class: mine ? 'winner' : '' }, `${mine ? '✔ ' : ''}${c.text}`));
    }
    if (opts.voted !== undefined) list.append(h('p', { class: 'small', role: 'status' }, i18n.t('poll.voted')));
  } else {
    list.append(h('p', { class: 'small' }, i18n.t('poll.closed')));
  }
  card.append(list);
}
