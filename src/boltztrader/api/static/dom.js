// DOM building without innerHTML: every piece of data enters the page as a text node or an
// attribute value, so nothing the API returns can become markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h('td', {class: 'num'}, '1.5'). Strings become text nodes. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/** An SVG element, same rules as h(). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  appendAll(el, children);
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Only http(s) links from the API may become an href (never javascript: or data:). */
export function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

// ---- formatting: amounts stay strings (Decimal on the server); only grouping and trimming here.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** "100000.00000000" -> "100,000.00"; "0.00100000" -> "0.001"; null -> "—". */
export function num(value, { minDecimals = 0 } = {}) {
  if (value === undefined || value === null || value === '') return '—';
  const text = String(value);
  const m = DECIMAL.exec(text);
  if (!m) return text;
  const [, sign, whole, frac = ''] = m;
  let decimals = frac.replace(/0+$/, '');
  if (decimals.length < minDecimals) decimals = frac.slice(0, minDecimals).padEnd(minDecimals, '0');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return sign + grouped + (decimals ? '.' + decimals : '');
}

export const money = (value) => num(value, { minDecimals: 2 });

function pad(n) {
  return String(n).padStart(2, '0');
}

/** Local time of an ISO instant: "14:03:07" today, "Nov 26 14:03" before. */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return clock;
  return `${d.toLocaleString('en', { month: 'short' })} ${d.getDate()} ${clock.slice(0, 5)}`;
}

/** "in 5h 12m" / "3m ago" for an ISO instant. */
export function relative(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '';
  let seconds = Math.round((at - Date.now()) / 1000);
  const future = seconds >= 0;
  seconds = Math.abs(seconds);
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const span = d ? `${d}d ${hh}h` : hh ? `${hh}h ${mm}m` : mm ? `${mm}m` : `${seconds}s`;
  return future ? `in ${span}` : `${span} ago`;
}

/** The end of an id: ULIDs made together share their first characters, not their last. */
export function shortId(id) {
  if (!id) return '—';
  const text = String(id);
  return text.length > 10 ? `…${text.slice(-8)}` : text;
}

/** A status badge; colours come from the stylesheet by status name. */
export function badge(status, extraClass = '') {
  const value = status ? String(status).toLowerCase() : 'unknown';
  return h('span', { class: `badge st-${value.replace(/[^a-z_]/g, '')} ${extraClass}`.trim(),
                     dataset: { status: value } }, value.replaceAll('_', ' '));
}

export function sideTag(side) {
  const value = String(side || '').toLowerCase();
  return h('span', { class: `side side-${value === 'sell' ? 'sell' : 'buy'}` }, value.toUpperCase());
}

/** Compact JSON for a table cell (full text in the title). */
export function compactJson(value, max = 120) {
  if (value === undefined || value === null) return h('span', { class: 'muted' }, '—');
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return h('span', { class: 'json', title: text }, text.length > max ? text.slice(0, max - 1) + '…' : text);
}

export function empty(colspan, message) {
  return h('tr', { class: 'empty' }, h('td', { colspan }, message));
}
