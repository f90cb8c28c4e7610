// Price charts (a quote every 2 s per watched symbol, kept in memory while the page is open) with
// the user's fills marked, and an equity curve per account from the balances recorded meanwhile.

import { get, seg, itemsOf, isAbort } from './api.js';
import { h, $, fill, num, money, time } from './dom.js';
import { lineChart } from './chart.js';
import { store, on, every, accountById, accountName, activeAccounts, throttle } from './store.js';
import { setOptions } from './ui.js';

const QUOTE_EVERY_MS = 2000;
const MAX_POINTS = 3600; // two hours at one point every 2 s
const AUTO_WATCH_LIMIT = 4;
const COLORS = ['#4c8dff', '#d4a72c', '#39c5cf', '#bc8cff', '#f778ba', '#7ee787'];

const watches = new Map(); // "account|SYMBOL" -> {account_id, symbol, points, fills, quote, error, color}
let visible = () => false;
let tradingVisible = () => false;
let colorIndex = 0;
let focusKey = null; // the watch shown on the Trading tab

const keyOf = (accountId, symbol) => `${accountId}|${symbol.toUpperCase()}`;

/** Show this symbol's chart on the Trading tab (watching it if need be). */
export function focus(accountId, symbol) {
  watch(accountId, symbol);
  const key = keyOf(accountId, symbol);
  if (watches.has(key)) focusKey = key;
  renderFocus();
}

const early = [];

function autoWatch(order) {
  const account = accountById(order.account_id);
  if (!account) {
    if (early.length < 50) early.push(order);
    return;
  }
  if (!account.unlinked_at && watches.size < AUTO_WATCH_LIMIT) watch(order.account_id, order.symbol);
  noteExecuted(order);
}

export function watch(accountId, symbol) {
  const key = keyOf(accountId, symbol);
  if (watches.has(key) || !accountById(accountId)) return;
  if (!focusKey) focusKey = key;
  watches.set(key, { account_id: accountId, symbol: symbol.toUpperCase(), points: [], fills: [], quote: null,
                     executed: new Map(), error: null, color: COLORS[colorIndex++ % COLORS.length] });
  pollQuote(watches.get(key));
  loadFills(watches.get(key));
  render();
}

async function pollQuote(w) {
  try {
    const quote = await get(`/v1/accounts/${seg(w.account_id)}/quote`, { symbol: w.symbol });
    const value = Number(quote.last ?? quote.bid ?? quote.ask);
    w.quote = quote;
    w.error = null;
    if (Number.isFinite(value)) {
      w.points.push({ t: Date.now(), v: value });
      if (w.points.length > MAX_POINTS) w.points.splice(0, w.points.length - MAX_POINTS);
    }
  } catch (error) {
    if (isAbort(error) || error.status === 401) return;
    w.error = error.message;
  }
}

async function loadFills(w) {
  try {
    const page = await get('/v1/fills', { account_id: w.account_id, symbol: w.symbol, limit: 200 });
    w.fills = itemsOf(page);
  } catch (error) {
    if (!isAbort(error) && error.status !== 401 && error.status !== 404) w.error = error.message;
  }
}

export const refreshFillsSoon = throttle(async () => {
  await Promise.all([...watches.values()].map(loadFills));
  if (visible()) render();
  if (tradingVisible()) renderFocus();
}, 1000);

/** An order seen executed: marked at its average price when no fill row of it is known (yet). */
function noteExecuted(order) {
  const w = watches.get(keyOf(order.account_id, order.symbol));
  if (!w || !order.average_price || !['filled', 'partially_filled'].includes(order.status)) return;
  w.executed.set(order.id, order);
}

function markersOf(w) {
  const start = w.points.length ? w.points[0].t - 60000 : Date.now() - 3600000;
  const mark = (at, side, quantity, price) => ({
    t: Date.parse(at), v: Number(price), side: String(side).toLowerCase(),
    title: `${String(side).toUpperCase()} ${num(quantity)} @ ${num(price)} · ${time(at)}` });
  const withFills = new Set(w.fills.map((f) => f.order_id));
  return [
    ...w.fills.map((f) => mark(f.executed_at, f.side, f.quantity, f.price)),
    ...[...w.executed.values()].filter((o) => !withFills.has(o.id))
      .map((o) => mark(o.updated_at, o.side, o.filled_quantity, o.average_price)),
  ].filter((m) => m.t >= start);
}

function width(el, fallback) {
  const style = el ? getComputedStyle(el) : null;
  const padding = style ? parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) : 0;
  return Math.max(240, Math.floor((el?.clientWidth || fallback) - padding - 1));
}

function pricePanel(w, key, height = 210) {
  const remove = h('button', { class: 'small ghost icon', type: 'button', title: 'Stop watching' }, '×');
  remove.addEventListener('click', () => {
    watches.delete(key);
    if (focusKey === key) focusKey = watches.keys().next().value ?? null;
    render();
    renderFocus();
  });
  const first = w.points[0]?.v;
  const last = w.points.at(-1)?.v;
  const change = first && last ? ((last - first) / first) * 100 : null;
  const head = h('div', { class: 'chart-head' },
    h('div', {}, h('span', { class: 'sym' }, w.symbol), ' ',
      h('span', { class: 'muted' }, accountName(w.account_id))),
    h('div', { class: 'chart-quote' },
      w.quote ? [
        h('span', { class: 'muted' }, 'bid '), h('span', { class: 'num' }, num(w.quote.bid)), ' ',
        h('span', { class: 'muted' }, 'ask '), h('span', { class: 'num' }, num(w.quote.ask)), ' ',
        h('span', { class: 'num strong' }, num(w.quote.last)), ' ',
        change === null ? '' : h('span', { class: `num ${change < 0 ? 'neg' : change > 0 ? 'pos' : 'muted'}` },
                                 `${change >= 0 ? '+' : ''}${change.toFixed(2)}%`),
      ] : h('span', { class: 'muted' }, 'no quote yet'),
      remove));
  const panel = h('div', { class: 'panel chart-panel', dataset: { symbol: w.symbol, accountId: w.account_id } }, head);
  const body = h('div', { class: 'chart-body' });
  panel.append(body);
  if (w.error) panel.append(h('div', { class: 'error-text small-text' }, w.error));
  const marks = markersOf(w);
  panel.append(h('div', { class: 'chart-foot muted small-text' },
    `${w.points.length} quotes since ${w.points.length ? time(new Date(w.points[0].t).toISOString()) : '—'} · ` +
    `${marks.length} execution${marks.length === 1 ? '' : 's'} on the chart`));
  return { panel, body, draw: (px) => lineChart({ width: px, height, series: w.points, markers: marks,
                                                  color: w.color, label: (v) => num(String(v)) }) };
}

function equityPanel(account, index) {
  const series = store.equity.get(account.id) || [];
  const balance = store.balances.get(account.id);
  const panel = h('div', { class: 'panel chart-panel', dataset: { accountId: account.id } },
    h('div', { class: 'chart-head' },
      h('div', {}, h('span', { class: 'strong' }, accountName(account.id)), ' ',
        h('span', { class: 'muted' }, balance?.currency || '')),
      h('div', { class: 'chart-quote' }, h('span', { class: 'muted' }, 'equity '),
        h('span', { class: 'num strong' }, balance && !balance.error ? money(balance.equity) : '—'))));
  const body = h('div', { class: 'chart-body' });
  panel.append(body);
  return { panel, body, draw: (px) => lineChart({ width: px, height: 150, series,
                                                  color: COLORS[(index + 2) % COLORS.length],
                                                  label: (v) => money(String(Math.round(v * 100) / 100)) }) };
}

function drawAll(target, items) {
  fill(target, items.map((i) => i.panel));
  for (const item of items) item.body.append(item.draw(width(item.body, 500)));
}

export function render() {
  const prices = [...watches.entries()].map(([key, w]) => pricePanel(w, key));
  const priceGrid = $('#price-charts');
  if (!prices.length) {
    fill(priceGrid, h('p', { class: 'empty-note' }, 'Watch a symbol above; charts start with your first orders too.'));
  } else drawAll(priceGrid, prices);
  const equity = activeAccounts().map(equityPanel);
  const equityGrid = $('#equity-charts');
  if (!equity.length) fill(equityGrid, h('p', { class: 'empty-note' }, 'No accounts.'));
  else drawAll(equityGrid, equity);
}

/** The focused chart on the Trading tab, under the orders. */
export function renderFocus() {
  const target = $('#trading-chart');
  const w = focusKey && watches.get(focusKey);
  if (!w) {
    fill(target);
    return;
  }
  drawAll(target, [pricePanel(w, focusKey, 190)]);
}

export function reset() {
  watches.clear();
  early.length = 0;
  colorIndex = 0;
  focusKey = null;
  render();
  renderFocus();
}

export function mount(isVisible, isTradingVisible) {
  visible = isVisible;
  tradingVisible = isTradingVisible;
  $('#watch-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const account = $('#watch-account').value;
    const symbol = $('#watch-symbol').value.trim();
    if (!account || !symbol) return;
    watch(account, symbol);
    $('#watch-symbol').value = '';
  });
  on('accounts', () => {
    setOptions($('#watch-account'), activeAccounts().map((a) => ({ value: a.id, label: accountName(a.id) })));
    for (const [key, w] of watches) if (!accountById(w.account_id)) watches.delete(key);
    if (visible()) render();
  });
  on('balances', () => visible() && render());
  on('focus', (order) => focus(order.account_id, order.symbol));
  // A symbol the user trades gets a chart without asking (a few; more by hand). Orders may come
  // before the accounts have loaded: those wait for them.
  on('order', autoWatch);
  on('accounts', () => {
    const waiting = early.splice(0);
    waiting.forEach(autoWatch);
  });
  let resizeTimer = null;
  const observer = new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (visible()) render();
      if (tradingVisible()) renderFocus();
    }, 150);
  });
  observer.observe($('#view-charts'));
  observer.observe($('#view-trading'));
}

export function start() {
  every(QUOTE_EVERY_MS, async () => {
    await Promise.all([...watches.values()].map(pollQuote));
    if (visible()) render();
    if (tradingVisible()) renderFocus();
  });
}

