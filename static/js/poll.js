// The vote card: the question and choices while a poll is open, "voted" once this viewer has
// voted, and the counts with the winner after the host reveals the result.
import { clear, h } from './dom.js';
import * as i18n from './i18n.js';

/**
 * A poll as the server sends it: `{id, room, question, choices: [names], state: 'open'|'closed',
 * revealed, opened_at, voted?, counts?: [votes per choice]}`. Its stage on the card: 'open',
 * 'closed' or 'revealed'.
 */
export function pollState(poll) {
  return poll.revealed ? 'revealed' : poll.state;
}

/**
 * @param {HTMLElement} card
 * @param {object|null} poll
 * @param {{voted?: any, onVote?: (choice) => void, showCounts?: boolean}} opts
 */
export function renderPoll(card, poll, opts = {}) {
  clear(card);
  if (!poll) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  card.dataset.pollId = String(poll.id);
  const stateNow = pollState(poll);
  card.dataset.state = stateNow;
  card.append(h('p', { class: 'small muted' }, stateNow === 'revealed' ? i18n.t('poll.result') : i18n.t('poll.title')),
    h('p', { class: 'q' }, poll.question));
  // Choices are answered by index (`vote {choice}`); `counts` only reach hosts, or everyone once revealed.
  const choices = poll.choices.map((text, id) => ({ id, text }));
  const counts = Array.isArray(poll.counts) ? poll.counts : null;
  const list = h('div', { class: 'choices' });
  if (stateNow === 'revealed' || (opts.showCounts && counts)) {
    const total = counts ? counts.reduce((a, b) => a + b, 0) : 0;
    const best = counts ? Math.max(0, ...counts) : 0;
    for (const c of choices) {
      const n = counts ? counts[c.id] ?? 0 : 0;
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
