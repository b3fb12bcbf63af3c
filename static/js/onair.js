// The host's on-air bar: the program's state, time elapsed since its start and time left until
// its end (ticking each second), viewers and hearts as the room reports them.
import { fmtCountdown } from './dom.js';
import * as i18n from './i18n.js';

export class OnAirBar {
  /** @param {HTMLElement} el  holds [data-onair=state|elapsed|remaining|viewers|hearts] */
  constructor(el) {
    this.el = el;
    this.program = null;
    this.viewers = null;
    this.hearts = null;
    this.timer = setInterval(() => this.tick(), 1000);
    i18n.onLangChange(() => this.render());
  }

  part(name) {
    return this.el.querySelector(`[data-onair="${name}"]`);
  }

  setProgram(program) {
    this.program = program;
    this.viewers = null;
    this.hearts = null;
    this.render();
  }

  setViewers(count) {
    this.viewers = count;
    this.render();
  }

  setHearts(total) {
    this.hearts = total;
    this.render();
  }

  render() {
    const p = this.program;
    this.el.hidden = !p;
    if (!p) return;
    const state = this.part('state');
    state.textContent = i18n.t(`state.${p.state}`);
    state.className = `badge ${p.state}`;
    this.part('viewers').textContent = this.viewers === null ? '—' : i18n.fmtNumber(this.viewers);
    this.part('hearts').textContent = this.hearts === null ? '—' : i18n.fmtNumber(this.hearts);
    this.tick();
  }

  tick() {
    const p = this.program;
    if (!p) return;
    const now = Date.now();
    const start = new Date(p.starts_at).getTime();
    const end = new Date(p.ends_at).getTime();
    const days = (n) => i18n.t('countdown.days', { n });
    const elapsed = this.part('elapsed');
    const remaining = this.part('remaining');
    elapsed.textContent = now >= start ? fmtCountdown(Math.min(now, end) - start, days) : '—';
    if (now < start) remaining.textContent = i18n.t('onair.startsIn', { time: fmtCountdown(start - now, days) });
    else if (now < end) remaining.textContent = fmtCountdown(end - now, days);
    else remaining.textContent = i18n.t('onair.over');
    // The last five minutes show in the warning colour.
    remaining.dataset.soon = now < end && end - now <= 5 * 60 * 1000 && now >= start ? 'true' : 'false';
  }
}
