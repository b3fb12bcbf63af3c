// Today's event (오늘의 이벤트) on the watch page: join (sign up, sign in, or the operator's
// OpenID Connect provider), the balance and today's earnings with each earning shown at once
// (the chat's acks carry `mileage`), the history, donations with the campaign's thermometer
// (moved by `campaign` room events), the live quiz with a countdown on the server's time, the
// prize draws (published commitment, then the seed and the masked winners; a winner's claim
// form), and watch credit: a beat after each minute the video plays while the page is visible.
import { api, get, post } from './api.js';
import { $, clear, h, say } from './dom.js';
import './event_text.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const t = i18n.t;

export class EventPanel {
  constructor(root, video) {
    this.root = root;
    this.video = video;
    this.config = null;
    this.me = null; // {member, balance, today} or {member: null}
    this.programId = null;
    this.live = false;
    this.state = { quiz: null, draws: [], campaigns: [] };
    this.quizTimer = null;
    this.quizOffset = 0;
    this.mode = 'signup';
    this.watch = { token: null, playedMs: 0, since: null, interval: 60 };
    this.wireDialog();
    this.wireWatch();
    i18n.onLangChange(() => this.render());
  }

  async start() {
    try {
      this.config = await get('/api/events/config');
      this.watch.interval = this.config.watch_interval_s;
    } catch {
      return; // no event here: the panel stays hidden
    }
    await this.refreshMe();
  }

  async refreshMe() {
    try {
      this.me = await get('/api/events/me');
    } catch {
      this.me = { member: null };
    }
    this.render();
    if (this.me.member) this.loadHistory();
  }

  /** The program on the page (null: none); `live` says whether watching earns now. */
  async setProgram(program) {
    const id = program ? program.id : null;
    this.live = Boolean(program && program.state === 'live');
    if (!this.live) this.stopWatch();
    if (id === this.programId) return;
    this.programId = id;
    this.state = { quiz: null, draws: [], campaigns: [] };
    if (id) {
      try {
        const data = await get(`/api/events/programs/${encodeURIComponent(id)}`);
        if (this.programId !== id) return;
        this.state = { quiz: data.quiz, draws: data.draws, campaigns: data.campaigns };
        if (data.quiz) this.setQuizOffset(data.quiz);
      } catch {
        // the panel shows the member part only
      }
    }
    this.render();
  }

  // ---- what the chat and the room tell ---------------------------------------------------------
  /** A chat ack's `mileage` (or a REST answer with `earned` and `balance`). */
  earned(mileage) {
    if (!mileage || !this.me || !this.me.member) return;
    if (mileage.earned > 0) {
      this.me.balance = mileage.balance;
      this.me.today.earned += mileage.earned;
      this.flash(t('ev.earned', { n: mileage.earned }), 'ok');
      this.render();
      this.loadHistory();
    } else if (mileage.limited === 'cap') {
      this.flash(t('ev.capped'), 'info');
    } else if (mileage.limited === 'earn_rate') {
      this.flash(t('ev.tooFast'), 'info');
    }
  }

  quiz(quiz) {
    if (!quiz || quiz.program !== this.programId) return;
    const mine = this.state.quiz && this.state.quiz.id === quiz.id ? this.state.quiz.my_answer : undefined;
    this.state.quiz = { ...quiz, my_answer: mine };
    this.setQuizOffset(quiz);
    if (quiz.state === 'revealed') this.refreshMe();
    this.renderQuiz();
  }

  draw(draw) {
    if (!draw || draw.program !== this.programId) return;
    const others = this.state.draws.filter((d) => d.id !== draw.id);
    this.state.draws = [...others, draw];
    if (draw.state === 'drawn') this.reloadDraw(draw.id);
    this.renderDraws();
  }

  campaign(update) {
    const campaign = this.state.campaigns.find((c) => c.id === update.id);
    if (!campaign || update.total < campaign.total) return;
    campaign.total = update.total;
    campaign.donors = update.donors;
    this.renderCampaigns();
  }

  // ---- rendering -------------------------------------------------------------------------------
  flash(text, kind) {
    const status = $('#event-status', this.root);
    say(status, text, kind);
    status.classList.toggle('earned', kind === 'ok');
  }

  render() {
    if (!this.config) return;
    this.root.hidden = false;
    const member = this.me && this.me.member;
    const balance = $('#event-balance', this.root);
    balance.hidden = !member;
    const actions = clear($('#event-actions', this.root));
    if (member) {
      balance.textContent = t('ev.balance', { n: this.me.balance });
      $('#event-who', this.root).textContent = t('ev.hello', {
        name: member.nickname, earned: this.me.today.earned, cap: this.me.today.cap });
      actions.append(
        h('button', { type: 'button', class: 'btn small secondary', id: 'event-signout', onclick: () => this.signOut() }, t('ev.signOut')),
        h('button', { type: 'button', class: 'btn small secondary', id: 'event-delete', onclick: () => this.deleteAccount() }, t('ev.deleteAccount')));
    } else {
      $('#event-who', this.root).textContent = t('ev.invite');
      actions.append(h('button', { type: 'button', class: 'btn small', id: 'event-join', onclick: () => this.openDialog('signup') }, t('ev.join')));
      if (this.config.oidc) {
        actions.append(h('a', { class: 'btn small secondary', id: 'event-oidc-join', href: this.oidcLink() }, t('ev.oidc', { name: this.config.oidc.name })));
      }
    }
    $('#event-history', this.root).hidden = !member;
    this.renderQuiz();
    this.renderCampaigns();
    this.renderDraws();
  }

  oidcLink() {
    const next = encodeURIComponent(location.pathname);
    return `/api/events/oidc/start?consent=${encodeURIComponent(this.config.privacy_version)}&next=${next}`;
  }

  async loadHistory() {
    try {
      const data = await get('/api/events/me/ledger?limit=20');
      const ul = clear($('#event-ledger', this.root));
      for (const e of data.entries) {
        const sign = e.amount > 0 ? '+' : '';
        ul.append(h('li', {}, `${t(`ev.kind.${e.kind}`)} ${sign}${i18n.fmtNumber(e.amount)} → ${i18n.fmtNumber(e.balance_after)}`));
      }
    } catch {
      // the history stays as it was
    }
  }

  setQuizOffset(quiz) {
    this.quizOffset = new Date(quiz.server_now).getTime() - Date.now();
  }

  renderQuiz() {
    const card = clear($('#event-quiz', this.root));
    clearInterval(this.quizTimer);
    const quiz = this.state.quiz;
    if (!quiz) {
      card.hidden = true;
      return;
    }
    card.hidden = false;
    card.dataset.state = quiz.state;
    card.append(h('p', { class: 'small muted' }, t('ev.quiz')), h('p', { class: 'q' }, quiz.question));
    const left = h('p', { class: 'small', id: 'event-quiz-left' });
    const choices = h('div', { class: 'choices' });
    const member = this.me && this.me.member;
    quiz.choices.forEach((text, index) => {
      if (quiz.state === 'revealed') {
        const count = quiz.counts ? quiz.counts[index] : 0;
        const mark = index === quiz.correct ? '✔ ' : '';
        choices.append(h('p', { class: index === quiz.correct ? 'right' : '', dataset: { choice: String(index) } },
          `${mark}${text} (${i18n.fmtNumber(count)})`));
      } else if (quiz.state === 'open' && member && quiz.my_answer == null) {
        choices.append(h('button', { type: 'button', class: 'btn secondary', dataset: { choice: String(index) },
          onclick: () => this.answer(quiz, index) }, text));
      } else {
        choices.append(h('p', { class: quiz.my_answer === index ? 'right' : '', dataset: { choice: String(index) } },
          `${quiz.my_answer === index ? '➜ ' : ''}${text}`));
      }
    });
    card.append(choices, left);
    if (quiz.state === 'revealed') {
      if (quiz.my_answer != null) left.textContent = quiz.my_answer === quiz.correct ? t('ev.quizRight') : t('ev.quizWrong');
      return;
    }
    if (!member) left.textContent = t('ev.quizSignIn');
    const tick = () => {
      const ms = new Date(quiz.closes_at).getTime() - (Date.now() + this.quizOffset);
      if (ms <= 0) {
        clearInterval(this.quizTimer);
        if (quiz.state === 'open') {
          quiz.state = 'closed';
          this.renderQuiz();
        } else {
          left.textContent = t('ev.quizClosed');
        }
        return;
      }
      if (member) left.textContent = `${quiz.my_answer != null ? `${t('ev.quizAnswered')} ` : ''}${t('ev.quizLeft', { n: Math.ceil(ms / 1000) })}`;
    };
    tick();
    this.quizTimer = setInterval(tick, 250);
  }

  async answer(quiz, choice) {
    try {
      await post(`/api/events/quizzes/${encodeURIComponent(quiz.id)}/answers`, { choice });
      quiz.my_answer = choice;
    } catch (err) {
      this.flash(errText(err), 'error');
      if (err.code === 'already_answered') quiz.my_answer = quiz.my_answer ?? -1;
    }
    this.renderQuiz();
  }

  renderCampaigns() {
    const box = clear($('#event-campaigns', this.root));
    for (const c of this.state.campaigns) {
      if (c.state === 'closed' && c.total === 0) continue;
      const member = this.me && this.me.member;
      const section = h('section', { class: 'thermo', dataset: { campaign: c.id } },
        h('p', { class: 'q' }, `${c.title} — ${t('ev.campaign', { beneficiary: c.beneficiary })}`),
        h('progress', { max: String(c.goal), value: String(Math.min(c.total, c.goal)), 'aria-label': c.title }),
        h('p', { class: 'small raised' }, t('ev.raised', { total: i18n.fmtNumber(c.total), goal: i18n.fmtNumber(c.goal), donors: i18n.fmtNumber(c.donors) })));
      if (member && c.state === 'open') {
        const amount = h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', 'aria-label': t('ev.amount'), placeholder: t('ev.amount') });
        const form = h('form', { novalidate: true, onsubmit: (e) => { e.preventDefault(); this.donate(c, Number(amount.value)); } },
          amount,
          h('button', { type: 'submit', class: 'btn small' }, t('ev.donate')),
          h('button', { type: 'button', class: 'btn small secondary', onclick: () => this.donate(c, 'all') }, t('ev.donateAll')));
        section.append(form);
      } else if (c.state !== 'open') {
        section.append(h('p', { class: 'small muted' }, t('ev.notOpen')));
      }
      box.append(section);
    }
  }

  async donate(campaign, amount) {
    const requestId = `d${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    try {
      const answer = await post(`/api/events/campaigns/${encodeURIComponent(campaign.id)}/donations`,
        { amount: amount === 'all' ? 'all' : Math.trunc(amount) || 0, request_id: requestId });
      this.me.balance = answer.balance;
      this.campaign(answer.campaign);
      this.flash(t('ev.donated', { n: i18n.fmtNumber(answer.donated) }), 'ok');
      this.render();
      this.loadHistory();
    } catch (err) {
      this.flash(errText(err), 'error');
    }
  }

  async reloadDraw(id) {
    try {
      const data = await get(`/api/events/draws/${encodeURIComponent(id)}`);
      this.state.draws = [...this.state.draws.filter((d) => d.id !== id), data.draw];
      this.renderDraws();
    } catch {
      // keep the room's copy
    }
  }

  renderDraws() {
    const box = clear($('#event-draws', this.root));
    for (const d of this.state.draws) {
      const section = h('section', { class: 'draw', dataset: { draw: d.id, state: d.state } },
        h('p', { class: 'q' }, `${t('ev.draw')}: ${d.title}`),
        h('p', { class: 'small' }, h('code', {}, t('ev.drawCommitted', { n: i18n.fmtNumber(d.pool_size), hash: d.pool_hash, commitment: d.commitment }))));
      if (d.state === 'drawn') {
        const names = (list) => list.map((w) => w.name).join(', ') || '-';
        section.append(h('p', { class: 'small winners' }, h('code', {}, t('ev.drawDrawn', { winners: names(d.winners), backups: names(d.backups), seed: d.seed }))));
        const you = d.you && d.you.result;
        if (you === 'winner' && !d.you.claimed) section.append(this.claimForm(d));
        else if (you === 'winner') section.append(h('p', { class: 'small earned' }, t('ev.claimed')));
        else if (you === 'backup') section.append(h('p', { class: 'small' }, t('ev.youBackup')));
      }
      box.append(section);
    }
  }

  claimForm(draw) {
    const name = h('input', { type: 'text', maxlength: '40', autocomplete: 'name', 'aria-label': t('ev.claimName'), placeholder: t('ev.claimName') });
    const phone = h('input', { type: 'tel', maxlength: '20', autocomplete: 'tel', 'aria-label': t('ev.claimPhone'), placeholder: t('ev.claimPhone') });
    const consent = h('input', { type: 'checkbox' });
    return h('form', { class: 'claim', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      try {
        await post(`/api/events/draws/${encodeURIComponent(draw.id)}/claim`, { name: name.value, phone: phone.value, consent: consent.checked });
        draw.you.claimed = true;
        this.renderDraws();
      } catch (err) {
        this.flash(errText(err), 'error');
      }
    } },
    h('p', { class: 'small earned' }, t('ev.youWon')), name, phone,
    h('label', { class: 'small' }, consent, ` ${t('ev.claimConsent')}`),
    h('button', { type: 'submit', class: 'btn small' }, t('ev.claim')));
  }

  // ---- joining ---------------------------------------------------------------------------------
  wireDialog() {
    const dialog = $('#event-dialog');
    if (!dialog) return;
    $('#event-mode').addEventListener('click', () => this.openDialog(this.mode === 'signup' ? 'signin' : 'signup'));
    $('#event-cancel').addEventListener('click', () => dialog.close());
    $('#event-signup').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  openDialog(mode) {
    this.mode = mode;
    const signup = mode === 'signup';
    $('#event-nick-field').hidden = !signup;
    $('#event-privacy').hidden = !signup;
    $('#event-consent-label').hidden = !signup;
    $('#event-submit').textContent = signup ? t('ev.signUp') : t('ev.signIn');
    $('#event-mode').textContent = signup ? t('ev.haveAccount') : t('ev.newAccount');
    const oidc = $('#event-oidc');
    oidc.hidden = !(this.config && this.config.oidc);
    if (!oidc.hidden) {
      oidc.textContent = t('ev.oidc', { name: this.config.oidc.name });
      oidc.href = this.oidcLink();
    }
    say($('#event-form-status'), '');
    const dialog = $('#event-dialog');
    if (!dialog.open) dialog.showModal();
    $('#event-email').focus();
  }

  async submit() {
    const signup = this.mode === 'signup';
    const status = $('#event-form-status');
    if (signup && !$('#event-consent').checked) {
      say(status, t('ev.consentNeeded'), 'error');
      return;
    }
    const body = { email: $('#event-email').value.trim(), password: $('#event-password').value };
    if (signup) Object.assign(body, { nickname: $('#event-nickname').value.trim(), consent: this.config.privacy_version });
    $('#event-submit').disabled = true;
    try {
      await post(signup ? '/api/events/members' : '/api/events/session', body);
      $('#event-password').value = '';
      $('#event-dialog').close();
      await this.refreshMe();
      if (this.live && this.playing()) this.startWatch();
    } catch (err) {
      const own = `ev.err.${err.code}`; // the staff login's words say "username"; a member has an email
      say(status, i18n.has(own) ? t(own) : errText(err), 'error');
    } finally {
      $('#event-submit').disabled = false;
    }
  }

  async signOut() {
    this.stopWatch();
    try {
      await api('DELETE', '/api/events/session');
    } finally {
      await this.refreshMe();
    }
  }

  async deleteAccount() {
    const button = $('#event-delete', this.root);
    if (button.dataset.confirm !== '1') {
      button.dataset.confirm = '1';
      this.flash(t('ev.deleteConfirm'), 'error');
      return;
    }
    try {
      await api('DELETE', '/api/events/me', { confirm: 'delete' });
      this.stopWatch();
      await this.refreshMe();
      this.flash(t('ev.deleted'), 'info');
    } catch (err) {
      this.flash(errText(err), 'error');
    }
  }

  // ---- watch credit ----------------------------------------------------------------------------
  playing() {
    const v = this.video;
    return Boolean(v && !v.paused && !v.ended && v.readyState > 2 && document.visibilityState === 'visible');
  }

  wireWatch() {
    if (!this.video) return;
    const update = () => this.countWatch();
    for (const event of ['playing', 'pause', 'waiting', 'ended', 'timeupdate']) this.video.addEventListener(event, update);
    document.addEventListener('visibilitychange', update);
  }

  /** Counts the time the video plays while the page is visible; a beat after each interval. */
  countWatch() {
    const now = Date.now();
    if (this.watch.since !== null) this.watch.playedMs += now - this.watch.since;
    this.watch.since = this.playing() && this.live ? now : null;
    if (this.watch.since !== null && !this.watch.token && this.me && this.me.member && !this.watch.starting) this.startWatch();
    if (this.watch.token && this.watch.playedMs >= this.watch.interval * 1000 && !this.watch.beating) this.beat();
  }

  async startWatch() {
    if (!this.programId || !this.me || !this.me.member) return;
    this.watch.starting = true;
    try {
      const started = await post('/api/events/watch/start', { program: this.programId });
      this.watch.token = started.token;
      this.watch.interval = started.interval_s;
      this.watch.playedMs = 0;
    } catch {
      this.watch.token = null;
    } finally {
      this.watch.starting = false;
    }
  }

  async beat() {
    this.watch.beating = true;
    const watched = Math.floor(this.watch.playedMs / 1000);
    try {
      const answer = await post('/api/events/watch/beat', { token: this.watch.token, watched_s: watched });
      this.watch.token = answer.token;
      this.watch.playedMs = 0;
      if (answer.earned > 0) this.earned({ earned: answer.earned, balance: answer.balance });
    } catch (err) {
      if (err.code !== 'too_soon') this.watch.token = null; // another window took over, or not live
    } finally {
      this.watch.beating = false;
    }
  }

  stopWatch() {
    this.watch.token = null;
    this.watch.playedMs = 0;
    this.watch.since = null;
  }
}
