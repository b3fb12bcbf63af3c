// A tiny live line chart in SVG (no library): a label, the latest value, and the recent series.
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const W = 300;
const H = 70;

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function makeChart(parent, label, { max = 60 } = {}) {
  const now = h('span', { class: 'now' }, '0');
  const title = h('span', { class: 'small muted' }, label);
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', role: 'img' });
  const area = svgEl('polygon', { class: 'area', points: '' });
  const line = svgEl('polyline', { points: '' });
  svg.append(area, line);
  const box = h('figure', { class: 'chart' }, h('div', { class: 'row' }, h('span', { class: 'grow' }, title), now), svg);
  parent.append(box);
  let values = [];

  function draw() {
    const top = Math.max(1, ...values);
    const step = values.length > 1 ? W / (values.length - 1) : W;
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(H - 4 - (v / top) * (H - 8)).toFixed(1)}`);
    line.setAttribute('points', pts.join(' '));
    area.setAttribute('points', pts.length ? `0,${H} ${pts.join(' ')} ${((values.length - 1) * step).toFixed(1)},${H}` : '');
    const last = values.length ? values[values.length - 1] : 0;
    now.textContent = String(Math.round(last * 10) / 10);
    svg.setAttribute('aria-label', `${label}: ${now.textContent}`);
    box.dataset.sum = String(values.reduce((a, b) => a + b, 0));
  }

  return {
    el: box,
    push(value) {
      values.push(Number(value) || 0);
      if (values.length > max) values = values.slice(-max);
      draw();
    },
    set(series) {
      values = series.map((v) => Number(v) || 0).slice(-max);
      draw();
    },
    setLast(value) {
      if (!values.length) values.push(0);
      values[values.length - 1] = Number(value) || 0;
      draw();
    },
    setLabel(text) { title.textContent = text; },
  };
}
