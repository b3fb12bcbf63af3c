// A program's report (/produce/report/{id}): the numbers kept after it ended (peak and unique
// viewers, watch time, messages, hearts), per minute as charts and a table, and the CSV export.
import { get } from './api.js';
import { makeChart } from './chart.js';
import { $, clear, fmtDateTime, fmtTime, h, say } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { requireRole } from './login.js';
import { title } from './programs.js';

const state = { report: null };

function number(value) {
  return typeof value === 'number' ? value.toLocaleString(i18n.currentLang() === 'en' ? 'en-US' : 'ko-KR') : '—';
}

function render() {
  const r = state.report;
  if (!r) return;
  const lang = i18n.currentLang();
  const p = r.program;
  $('#report-h').textContent = title(p);
  document.title = `${title(p)} · ${i18n.t('report.kicker')}`;
  $('#report-when').textContent = `${fmtDateTime(p.starts_at, lang)}–${fmtTime(p.ends_at, lang)} · ${i18n.t(`state.${p.state}`)}`;
  const rows = r.per_minute;
  const busiest = rows.reduce((best, row) => (!best || row.viewers > best.viewers ? row : best), null);
  const totals = { ...r, busiest: busiest && busiest.viewers ? `${fmtTime(new Date(busiest.minute * 1000).toISOString(), lang)} (${number(busiest.viewers)})` : '—' };
  for (const dd of document.querySelectorAll('#totals dd')) {
    const value = totals[dd.dataset.total];
    dd.textContent = typeof value === 'string' ? value : number(value);
  }
  const charts = clear($('#report-charts'));
  const series = (field) => rows.map((row) => row[field]);
  makeChart(charts, i18n.t('produce.viewers'), { max: rows.length || 1 }).set(series('viewers'));
  makeChart(charts, i18n.t('produce.chatRate'), { max: rows.length || 1 }).set(series('messages'));
  makeChart(charts, i18n.t('produce.heartRate'), { max: rows.length || 1 }).set(series('hearts'));
  const body = clear($('#minutes'));
  if (!rows.length) body.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, i18n.t('report.empty'))));
  for (const row of rows) {
    body.append(h('tr', {},
      h('td', {}, fmtTime(new Date(row.minute * 1000).toISOString(), lang)),
      h('td', {}, number(row.viewers)), h('td', {}, number(row.messages)), h('td', {}, number(row.hearts))));
  }
}

async function main() {
  i18n.init();
  await requireRole($('#login-box'), $('#who'), 'producer');
  $('#report').hidden = false;
  const match = location.pathname.match(/^\/produce\/report\/([^/]+)$/);
  const id = match ? decodeURIComponent(match[1]) : '';
  $('#csv').href = `/api/programs/${encodeURIComponent(id)}/report.csv`;
  i18n.onLangChange(render);
  try {
    state.report = await get(`/api/programs/${encodeURIComponent(id)}/report`);
    render();
  } catch (err) {
    say($('#report-status'), errText(err), 'error');
    $('#csv').hidden = true;
  }
}

main();
