// Small DOM helpers. Every piece of text goes in through textContent (or a text node), never as
// HTML, so a title, nickname or message can never become markup or script.

/**
 * h('button', {class: 'x', type: 'button', onclick: fn}, 'text', child)
 * Attributes starting with "on" become listeners; `text` sets textContent; others setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

/** Sets a status line's text and kind (error/ok/info) and announces it. */
export function say(el, text, kind = 'info') {
  el.textContent = text || '';
  el.dataset.kind = kind;
  el.hidden = !text;
}

const SEOUL = 'Asia/Seoul';

export function fmtTime(iso, lang) {
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'ko-KR', {
    timeZone: SEOUL, hour: '2-digit', minute: '2-digit', hour12: false,
  }).format(new Date(iso));
}

export function fmtDay(iso, lang) {
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'ko-KR', {
    timeZone: SEOUL, month: 'long', day: 'numeric', weekday: 'short',
  }).format(new Date(iso));
}

export function fmtDateTime(iso, lang) {
  return `${fmtDay(iso, lang)} ${fmtTime(iso, lang)}`;
}

/** The Seoul calendar day of an instant, as YYYY-MM-DD (for grouping the lineup by day). */
export function seoulDay(iso) {
  const d = new Date(new Date(iso).getTime() + 9 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

/** "2026-11-24T14:00" (a datetime-local value, Seoul time) -> ISO 8601 with +09:00. */
export function localToIso(value) {
  if (!value) return '';
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}+09:00`;
}

/** ISO 8601 instant -> a datetime-local value in Seoul time. */
export function isoToLocal(iso) {
  const d = new Date(new Date(iso).getTime() + 9 * 3600 * 1000);
  return d.toISOString().slice(0, 16);
}

export function fmtCountdown(ms, dayLabel = (n) => `${n}d`) {
  if (ms < 0) ms = 0;
  const s = Math.floor(ms / 1000);
  const days = Math.floor(s / 86400);
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return days > 0 ? `${dayLabel(days)} ${hh}:${mm}:${ss}` : `${hh}:${mm}:${ss}`;
}

export function prefersReducedMotion() {
  return window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}
