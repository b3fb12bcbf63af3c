// The producer's desk for today's event (오늘의 이벤트): donation campaigns (list with totals,
// a new campaign), the ledger's audit and CSV, and for the open program its earning rules and its
// prize draws (prepare from a pool: donors, commenters in a window or a revealed quiz's right
// answers; run; the masked winners, the seed and the proof; the winners' contact details).
import { api, get, post } from './api.js';
import { $, clear, h, isoToLocal, localToIso, say } from './dom.js';
import './event_text.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const t = i18n.t;
const RULES = ['vote', 'question', 'quiz', 'comment', 'chat', 'watch_per_minute', 'watch_cap'];
const enc = encodeURIComponent;

export class EventDesk {
  constructor() {
    this.program = null; // the program whose details are open
    this.campaigns = [];
    this.quiz = null; // the open program's latest quiz
    $('#campaign-form').addEventListener('submit', (e) => this.createCampaign(e));
    $('#audit').addEventListener('click', () => this.audit());
    $('#rules-form').addEventListener('submit', (e) => this.saveRules(e));
    $('#draw-form').addEventListener('submit', (e) => this.prepareDraw(e));
    $('#draw-pool').addEventListener('change', () => this.showPoolFields());
    const now = Date.now();
    $('#c-starts').value = isoToLocal(new Date(now).toISOString());
    $('#c-ends').value = isoToLocal(new Date(now + 10 * 86400 * 1000).toISOString());
    this.showPoolFields();
  }

  async loadCampaigns() {
    try {
      this.campaigns = (await get('/api/events/campaigns')).campaigns;
    } catch (err) {
      say($('#campaign-status'), errText(err), 'error');
      return;
    }
    const list = clear($('#campaign-list'));
    for (const c of this.campaigns) {
      list.append(h('li', { dataset: { campaign: c.id } },
        `${c.title} → ${c.beneficiary}: ${t('ev.raised', {
          total: i18n.fmtNumber(c.total), goal: i18n.fmtNumber(c.goal), donors: i18n.fmtNumber(c.donors),
        })} (${t(`evp.state.${c.state}`)})`));
    }
    const select = clear($('#draw-campaign'));
    for (const c of this.campaigns) select.append(h('option', { value: c.id }, c.title));
  }

  async createCampaign(event) {
    event.preventDefault();
    const body = {
      title: $('#c-title').value.trim(),
      beneficiary: $('#c-beneficiary').value.trim(),
      goal: Number($('#c-goal').value),
      starts_at: localToIso($('#c-starts').value),
      ends_at: localToIso($('#c-ends').value),
    };
    try {
      await post('/api/events/campaigns', body);
      $('#c-title').value = '';
      say($('#campaign-status'), t('evp.campaignMade'), 'info');
      await this.loadCampaigns();
    } catch (err) {
      say($('#campaign-status'), errText(err), 'error');
    }
  }

  async audit() {
    try {
      const report = await get('/api/events/audit');
      const text = report.ok
        ? t('evp.auditOk', { entries: i18n.fmtNumber(report.entries), members: i18n.fmtNumber(report.members) })
        : `${t('evp.auditBad')} ${report.problems.slice(0, 3).join(' · ')}`;
      say($('#campaign-status'), text, report.ok ? 'info' : 'error');
    } catch (err) {
      say($('#campaign-status'), errText(err), 'error');
    }
  }

  /** The program's details opened (or closed, with null). */
  async open(program) {
    this.program = program;
    say($('#rules-status'), '');
    say($('#draw-status'), '');
    clear($('#draw-list'));
    if (!program) return;
    $('#draw-from').value = isoToLocal(program.starts_at);
    $('#draw-to').value = isoToLocal(program.ends_at);
    await this.refresh();
  }

  async refresh() {
    const program = this.program;
    if (!program) return;
    let data;
    try {
      data = await get(`/api/events/programs/${enc(program.id)}`);
    } catch (err) {
      say($('#draw-status'), errText(err), 'error');
      return;
    }
    if (this.program !== program) return;
    for (const name of RULES) $(`#rule-${name}`).value = String(data.rules[name]);
    this.quiz = data.quiz;
    $('#draw-quiz-name').textContent = data.quiz && data.quiz.state === 'revealed' ? data.quiz.question : t('evp.noQuiz');
    this.renderDraws(data.draws);
  }

  async saveRules(event) {
    event.preventDefault();
    if (!this.program) return;
    const body = {};
    for (const name of RULES) body[name] = Number($(`#rule-${name}`).value);
    try {
      await api('PUT', `/api/events/programs/${enc(this.program.id)}/rules`, body);
      say($('#rules-status'), t('evp.rulesSaved'), 'info');
    } catch (err) {
      say($('#rules-status'), errText(err), 'error');
    }
  }

  showPoolFields() {
    const kind = $('#draw-pool').value;
    $('#draw-donors').hidden = kind !== 'donors';
    $('#draw-comments').hidden = kind !== 'comments';
    $('#draw-quiz').hidden = kind !== 'quiz';
  }

  poolSpec() {
    const kind = $('#draw-pool').value;
    if (kind === 'donors') return { kind, campaign: $('#draw-campaign').value };
    if (kind === 'quiz') return { kind, quiz: this.quiz ? this.quiz.id : '' };
    return {
      kind, room: `program:${this.program.id}`,
      from: localToIso($('#draw-from').value), to: localToIso($('#draw-to').value),
    };
  }

  async prepareDraw(event) {
    event.preventDefault();
    if (!this.program) return;
    const body = {
      program: this.program.id,
      title: $('#draw-title').value.trim(),
      pool: this.poolSpec(),
      winners: Number($('#draw-winners').value),
      backups: Number($('#draw-backups').value),
      claim_days: Number($('#draw-claim-days').value),
    };
    try {
      await post('/api/events/draws', body);
      say($('#draw-status'), '');
      await this.refresh();
    } catch (err) {
      say($('#draw-status'), errText(err), 'error');
    }
  }

  async run(draw) {
    try {
      await post(`/api/events/draws/${enc(draw.id)}/run`);
      await this.refresh();
    } catch (err) {
      say($('#draw-status'), errText(err), 'error');
    }
  }

  async showClaims(draw, box) {
    try {
      const { claims } = await get(`/api/events/draws/${enc(draw.id)}/claims`);
      clear(box).append(claims.length
        ? h('ul', {}, ...claims.map((c) => h('li', {}, `${c.name} · ${c.phone} (${t('evp.deletedAfter')} ${c.deleted_after.slice(0, 10)})`)))
        : h('p', { class: 'small muted' }, t('evp.noClaims')));
    } catch (err) {
      say($('#draw-status'), errText(err), 'error');
    }
  }

  renderDraws(draws) {
    const list = clear($('#draw-list'));
    for (const d of draws) {
      const item = h('li', { class: 'draw', dataset: { draw: d.id, state: d.state } },
        h('p', {}, h('strong', {}, d.title), ` · ${t('evp.poolOf', { n: i18n.fmtNumber(d.pool_size) })}`),
        h('p', { class: 'small' }, t('evp.hash'), ' ', h('code', {}, d.pool_hash)),
        h('p', { class: 'small' }, t('evp.commitment'), ' ', h('code', {}, d.commitment)));
      if (d.state === 'committed') {
        item.append(h('button', { type: 'button', class: 'btn small', onclick: () => this.run(d) }, t('evp.run')));
      } else {
        const names = (people) => people.map((p) => p.name).join(', ') || '—';
        const claims = h('div', { class: 'claims' });
        item.append(
          h('p', { class: 'winners' }, `${t('evp.winners')}: ${names(d.winners)} · ${t('evp.backups')}: ${names(d.backups)}`),
          h('p', { class: 'small' }, t('evp.seed'), ' ', h('code', {}, d.seed)),
          h('p', { class: 'small' },
            h('a', { href: `/api/events/draws/${enc(d.id)}/proof`, download: `draw-${d.id}.json` }, t('evp.proof')), ' · ',
            h('button', { type: 'button', class: 'linklike', onclick: () => this.showClaims(d, claims) }, t('evp.claims'))),
          claims);
      }
      list.append(item);
    }
  }
}
