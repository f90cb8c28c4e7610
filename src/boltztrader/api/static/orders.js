// Orders: the live table with its filters, the approvals queue, an order's event history.

import { get, post, seg, itemsOf } from './api.js';
import { h, $, fill, badge, sideTag, num, time, shortId, compactJson, empty } from './dom.js';
import { store, on, emit, accountName, activeAccounts } from './store.js';
import { report, toast, busy, confirmAction, setOptions } from './ui.js';

export const STATUSES = ['pending_approval', 'pending_submit', 'submitting', 'open', 'partially_filled',
  'pending_cancel', 'unknown', 'filled', 'cancelled', 'expired', 'rejected', 'denied', 'declined'];
const CANCELLABLE = new Set(['open', 'partially_filled', 'pending_submit']);
const MAX_ROWS = 200;

const orders = new Map(); // the table: orders matching the filters
const queue = new Map(); // pending_approval, whatever the filters
const inflight = new Map(); // order id -> {again}
let filters = { status: '', account_id: '', symbol: '' };
let generation = 0;
let detailId = null;

function matches(order) {
  if (filters.status && order.status !== filters.status) return false;
  if (filters.account_id && order.account_id !== filters.account_id) return false;
  if (filters.symbol && order.symbol.toUpperCase() !== filters.symbol.toUpperCase()) return false;
  return true;
}

function newer(a, b) {
  // true unless `a` is strictly older than what we hold
  return !b || !(Date.parse(a.updated_at) < Date.parse(b.updated_at));
}

/** Take in one order as the API returned it: table, queue, detail, listeners. */
export function apply(order) {
  const held = orders.get(order.id) || queue.get(order.id);
  if (!newer(order, held)) return;
  const wasShown = orders.has(order.id);
  if (matches(order)) orders.set(order.id, order);
  else orders.delete(order.id);
  if (order.status === 'pending_approval') queue.set(order.id, order);
  else queue.delete(order.id);
  if (orders.has(order.id) && wasShown) replaceRow(order);
  else renderTable(order.id);
  renderQueue();
  if (detailId === order.id && order.events) renderDetail(order);
  emit('order', order);
}

const wanted = new Set(); // order ids with news, fetched together shortly
let flushTimer = null;
// More changed orders than this at once (a fan-out): one reload beats a request per order and
// stays well inside the per-token rate limit.
const RELOAD_OVER = 12;

/** An order changed (a live event, an answer naming it): fetch it again, batched. */
export function refreshOrder(id) {
  if (!id) return;
  wanted.add(id);
  if (!flushTimer) flushTimer = setTimeout(flush, 100);
}

function flush() {
  flushTimer = null;
  const ids = [...wanted];
  wanted.clear();
  if (ids.length > RELOAD_OVER) reload();
  else ids.forEach(fetchOrder);
}

/** One request per order at a time; a change meanwhile fetches it once more. */
function fetchOrder(id) {
  const running = inflight.get(id);
  if (running) {
    running.again = true;
    return;
  }
  const state = { again: false };
  inflight.set(id, state);
  const mine = generation;
  get(`/v1/orders/${seg(id)}`)
    .then((order) => mine === generation && apply(order))
    .catch((error) => error.status !== 404 && report(error, 'Order update'))
    .finally(() => {
      inflight.delete(id);
      if (state.again && mine === generation) fetchOrder(id);
    });
}

/** Load the table and the queue afresh (sign-in, filters, a resync of the live feed). */
export async function reload() {
  const mine = ++generation;
  const query = { limit: 100, status: filters.status, account_id: filters.account_id,
                  symbol: filters.symbol.toUpperCase() };
  try {
    const [page, pending] = await Promise.all([
      get('/v1/orders', query),
      get('/v1/orders', { status: 'pending_approval', limit: 200 }),
    ]);
    if (mine !== generation) return;
    orders.clear();
    for (const order of itemsOf(page)) orders.set(order.id, order);
    queue.clear();
    for (const order of itemsOf(pending)) queue.set(order.id, order);
    renderTable();
    renderQueue();
    for (const order of orders.values()) emit('order', order);
  } catch (error) {
    report(error, 'Orders');
  }
}

export function reset() {
  generation += 1;
  clearTimeout(flushTimer);
  flushTimer = null;
  wanted.clear();
  orders.clear();
  queue.clear();
  detailId = null;
  filters = { status: '', account_id: '', symbol: '' };
  $('#order-filters').reset();
  $('#order-detail').hidden = true;
  renderTable();
  renderQueue();
}

// ---- the table

function sorted() {
  // Newest first; ties (a fan-out writes many at once) by id, so rows never swap places on an update.
  const list = [...orders.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)
    || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  for (const order of list.slice(MAX_ROWS)) orders.delete(order.id);
  return list.slice(0, MAX_ROWS);
}

function statusCell(order) {
  const cell = h('td', { class: 'status' }, badge(order.status));
  if (order.reject_reason) {
    cell.append(h('span', { class: 'reason', title: order.reject_reason }, order.reject_reason));
  }
  return cell;
}

function actionsCell(order) {
  const cell = h('td', { class: 'actions' });
  if (CANCELLABLE.has(order.status)) {
    const button = h('button', { class: 'small ghost', type: 'button', title: 'Cancel this order' }, 'Cancel');
    button.addEventListener('click', async (event) => {
      event.stopPropagation();
      await busy(button, async () => {
        try {
          apply(await post(`/v1/orders/${seg(order.id)}/cancel`));
          toast(`Cancel sent: ${order.side} ${num(order.quantity)} ${order.symbol}`);
        } catch (error) {
          report(error, 'Cancel');
        }
      });
    });
    cell.append(button);
  }
  return cell;
}

function row(order, flash = false) {
  const filled = order.filled_quantity && !/^0(\.0*)?$/.test(order.filled_quantity);
  const tr = h('tr', { class: flash ? 'flash' : '', dataset: { orderId: order.id, status: order.status } },
    h('td', { class: 'mono muted', title: order.created_at }, time(order.created_at)),
    h('td', { class: 'sym' }, order.symbol),
    h('td', {}, sideTag(order.side)),
    h('td', { class: 'num' }, num(order.quantity)),
    h('td', { class: `num ${filled ? '' : 'muted'}` }, num(order.filled_quantity)),
    h('td', { class: 'num' }, num(order.average_price ?? order.price)),
    h('td', { class: 'muted small-text' }, `${order.order_type || ''} ${order.time_in_force || ''}`.trim()),
    statusCell(order),
    h('td', { class: 'acct', title: order.account_id }, accountName(order.account_id)),
    actionsCell(order));
  if (detailId === order.id) tr.classList.add('selected');
  tr.addEventListener('click', () => {
    openDetail(order.id);
    emit('focus', order);
  });
  return tr;
}

function replaceRow(order) {
  const old = $(`#orders-table tbody tr[data-order-id="${CSS.escape(order.id)}"]`);
  if (old) old.replaceWith(row(order, true));
  else renderTable(order.id);
}

function renderTable(flashId = null) {
  const list = sorted();
  const body = $('#orders-table tbody');
  if (!list.length) {
    const message = store.me ? 'No orders yet. Send a test signal to make one.' : '';
    fill(body, empty(10, message));
  } else {
    fill(body, list.map((order) => row(order, order.id === flashId)));
  }
  $('#orders-count').textContent = String(list.length);
}

// ---- the approvals queue

function approvalCard(order) {
  const approve = h('button', { class: 'approve', type: 'button' }, 'Approve');
  const decline = h('button', { class: 'decline ghost', type: 'button' }, 'Decline');
  approve.addEventListener('click', () => busy(approve, async () => {
    try {
      apply(await post(`/v1/orders/${seg(order.id)}/approve`));
      toast(`Approved: ${order.side.toUpperCase()} ${num(order.quantity)} ${order.symbol}`, 'success');
    } catch (error) {
      report(error, 'Approve');
    }
  }));
  decline.addEventListener('click', async () => {
    const reason = await confirmAction({
      title: 'Decline this order?',
      body: `${order.side.toUpperCase()} ${num(order.quantity)} ${order.symbol} at ${accountName(order.account_id)}` +
        ' will not be sent.',
      confirm: 'Decline', danger: true, reason: '' });
    if (reason === null) return;
    await busy(decline, async () => {
      try {
        apply(await post(`/v1/orders/${seg(order.id)}/decline`, reason ? { reason } : {}));
        toast(`Declined: ${order.side.toUpperCase()} ${num(order.quantity)} ${order.symbol}`);
      } catch (error) {
        report(error, 'Decline');
      }
    });
  });
  return h('div', { class: 'approval', dataset: { orderId: order.id } },
    h('div', { class: 'approval-main' },
      sideTag(order.side), ' ',
      h('span', { class: 'num' }, num(order.quantity)), ' ',
      h('span', { class: 'sym' }, order.symbol),
      order.price ? h('span', { class: 'muted' }, ` @ ${num(order.price)}`) : ' ',
      h('span', { class: 'muted' }, ` ${order.order_type || ''}`)),
    h('div', { class: 'approval-meta muted' },
      h('span', { title: order.account_id }, accountName(order.account_id)), ' · ',
      h('span', { title: order.created_at }, time(order.created_at)), ' · ',
      h('span', { class: 'mono', title: order.signal_id }, `signal ${shortId(order.signal_id)}`)),
    h('div', { class: 'approval-actions' }, approve, decline));
}

function renderQueue() {
  const list = [...queue.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  const box = $('#approvals');
  if (!list.length) fill(box, h('p', { class: 'empty-note' }, 'Nothing waits for approval.'));
  else fill(box, list.map(approvalCard));
  const count = $('#approvals-count');
  count.textContent = String(list.length);
  count.classList.toggle('hot', list.length > 0);
  $('#tab-trading-count').textContent = list.length ? String(list.length) : '';
}

// ---- one order's detail and events

async function openDetail(id) {
  detailId = id;
  for (const tr of document.querySelectorAll('#orders-table tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.orderId === id);
  }
  try {
    const order = await get(`/v1/orders/${seg(id)}`);
    if (detailId === id) renderDetail(order);
  } catch (error) {
    report(error, 'Order');
  }
}

function fact(name, value) {
  return h('div', { class: 'fact' }, h('span', { class: 'fact-k' }, name), h('span', { class: 'fact-v' }, value));
}

function renderDetail(order) {
  const panel = $('#order-detail');
  const close = h('button', { class: 'small ghost', type: 'button' }, 'Close');
  close.addEventListener('click', () => {
    detailId = null;
    panel.hidden = true;
    for (const tr of document.querySelectorAll('#orders-table tbody tr.selected')) tr.classList.remove('selected');
  });
  const events = order.events || [];
  fill(panel,
    h('div', { class: 'panel-head' },
      h('h3', {}, 'Order ', h('span', { class: 'mono' }, shortId(order.id)), ' ', badge(order.status)), close),
    h('div', { class: 'facts' },
      fact('Symbol', `${order.symbol} · ${order.market}`),
      fact('Side / qty', `${String(order.side).toUpperCase()} ${num(order.quantity)}`),
      fact('Filled', `${num(order.filled_quantity)} @ ${num(order.average_price)}`),
      fact('Type', `${order.order_type || '—'} ${order.time_in_force || ''}`),
      fact('Limit / trigger', `${num(order.price)} / ${num(order.trigger_price)}`),
      fact('Account', `${accountName(order.account_id)} (${order.broker})`),
      fact('Mode', order.mode || '—'),
      fact('Broker status', order.broker_status || '—'),
      fact('Client order id', order.client_order_id || '—'),
      fact('Broker order id', order.broker_order_id || '—'),
      fact('Signal', order.signal_id || '—'),
      fact('Reject reason', order.reject_reason || '—')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact' },
      h('thead', {}, h('tr', {}, ['Time', 'Event', 'From', 'To', 'Actor', 'Detail'].map((c) => h('th', {}, c)))),
      h('tbody', {}, events.length ? events.map((e) => h('tr', {},
        h('td', { class: 'mono muted', title: e.created_at }, time(e.created_at)),
        h('td', {}, e.event),
        h('td', {}, e.from_status ? badge(e.from_status) : '—'),
        h('td', {}, e.to_status ? badge(e.to_status) : '—'),
        h('td', { class: 'muted' }, e.actor || '—'),
        h('td', { class: 'payload' }, compactJson(e.detail, 160))))
        : empty(6, 'No events recorded.')))));
  panel.hidden = false;
}

// ---- set-up

function fillAccountFilter() {
  setOptions($('#filter-account'), activeAccounts().map((a) => ({ value: a.id, label: accountName(a.id) })),
             { blank: 'All accounts' });
}

export function mount() {
  setOptions($('#filter-status'), STATUSES.map((v) => ({ value: v, label: v.replaceAll('_', ' ') })),
             { blank: 'All statuses' });
  const form = $('#order-filters');
  let timer = null;
  const changed = () => {
    if (!store.me) return; // the form is reset on sign-out too
    clearTimeout(timer);
    timer = setTimeout(() => {
      filters = { status: $('#filter-status').value, account_id: $('#filter-account').value,
                  symbol: $('#filter-symbol').value.trim() };
      reload();
    }, 250);
  };
  form.addEventListener('input', changed);
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('reset', () => setTimeout(changed));
  on('accounts', () => {
    fillAccountFilter();
    renderTable(); // account names may have changed
    renderQueue();
  });
}
