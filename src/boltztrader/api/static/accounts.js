// Accounts: balances (and the equity recorded from them), positions, execution mode, session
// health, the Kite login link, and "Add paper account".

import { get, post, patch, seg, itemsOf, isAbort } from './api.js';
import { h, $, fill, badge, num, money, time, relative, shortId, safeUrl, empty } from './dom.js';
import { store, on, emit, every, accountName, activeAccounts, brokerName, throttle } from './store.js';
import { report, toast, busy } from './ui.js';

const BALANCE_EVERY_MS = 5000;
const POSITIONS_EVERY_MS = 10000;
const MAX_EQUITY_POINTS = 4000;

const positions = new Map(); // account id -> [position] | {error}
const checks = new Map(); // account id -> check answer | {error}
const kiteLinks = new Map(); // account id -> login_url
let visible = () => false;

export async function loadAccounts() {
  try {
    const list = itemsOf(await get('/v1/accounts'));
    list.sort((a, b) => Number(Boolean(a.unlinked_at)) - Number(Boolean(b.unlinked_at))
      || Date.parse(a.created_at) - Date.parse(b.created_at));
    store.accounts = list;
    emit('accounts');
  } catch (error) {
    report(error, 'Accounts');
  }
}

function upsertAccount(account) {
  const index = store.accounts.findIndex((a) => a.id === account.id);
  if (index >= 0) store.accounts[index] = account;
  else store.accounts.push(account);
  emit('accounts');
}

async function loadBalance(id) {
  try {
    const balance = await get(`/v1/accounts/${seg(id)}/balance`);
    store.balances.set(id, balance);
    const equity = Number(balance.equity);
    if (Number.isFinite(equity)) {
      const series = store.equity.get(id) || [];
      series.push({ t: Date.now(), v: equity });
      if (series.length > MAX_EQUITY_POINTS) series.splice(0, series.length - MAX_EQUITY_POINTS);
      store.equity.set(id, series);
    }
  } catch (error) {
    if (isAbort(error) || error.status === 401) return;
    store.balances.set(id, { error: error.message });
  }
}

export async function loadBalances() {
  await Promise.all(activeAccounts().map((a) => loadBalance(a.id)));
  emit('balances');
}

async function loadPositionsOf(id) {
  try {
    positions.set(id, itemsOf(await get(`/v1/accounts/${seg(id)}/positions`)));
  } catch (error) {
    if (isAbort(error) || error.status === 401) return;
    positions.set(id, { error: error.message });
  }
}

export async function loadPositions() {
  await Promise.all(activeAccounts().map((a) => loadPositionsOf(a.id)));
  for (const slot of document.querySelectorAll('#accounts-list .account-card .positions-slot')) {
    fill(slot, positionsTable(slot.closest('.account-card').dataset.accountId));
  }
}

/** After a fill or a position event: balances and positions, at most once a second. */
export const refreshSoon = throttle(() => {
  loadBalances();
  loadPositions();
}, 1000);

export const reloadAccountsSoon = throttle(() => loadAccounts().then(loadBalances), 1000);

// ---- cards

function modeToggle(account) {
  const wrap = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Execution mode' });
  for (const [value, label] of [['automated', 'Automated'], ['semi_manual', 'Semi-manual']]) {
    const pressed = account.execution_mode === value;
    const button = h('button', { type: 'button', class: pressed ? 'on' : '', 'aria-pressed': String(pressed),
                                 dataset: { mode: value } }, label);
    button.addEventListener('click', () => {
      if (pressed || account.unlinked_at) return;
      busy(button, async () => {
        try {
          upsertAccount(await patch(`/v1/accounts/${seg(account.id)}`, { execution_mode: value }));
          toast(`${accountName(account.id)}: ${label.toLowerCase()}`, 'success');
        } catch (error) {
          report(error, 'Execution mode');
        }
      });
    });
    wrap.append(button);
  }
  return wrap;
}

function balanceBlock(id) {
  const balance = store.balances.get(id);
  if (!balance) return h('div', { class: 'muted' }, 'Balance: loading…');
  if (balance.error) return h('div', { class: 'error-text' }, `Balance unavailable: ${balance.error}`);
  const cell = (k, v, cls = '') => h('div', { class: `metric ${cls}` }, h('span', { class: 'metric-k' }, k),
                                     h('span', { class: 'metric-v' }, v));
  return h('div', { class: 'metrics' },
    cell('Equity', money(balance.equity), 'big'),
    cell('Cash', money(balance.cash)),
    cell('Buying power', money(balance.buying_power)),
    h('div', { class: 'metrics-foot muted' }, `${balance.currency || ''} · as of ${time(balance.as_of)}`));
}

function sessionBlock(account) {
  const parts = [];
  const session = account.session;
  if (session) {
    const valid = session.valid !== false;
    parts.push(h('span', { class: `badge ${valid ? 'st-ok' : 'st-rejected'}` }, valid ? 'session valid' : 'session expired'));
    if (session.expires_at) {
      parts.push(h('span', { class: 'muted', title: session.expires_at },
                   ` expires ${time(session.expires_at)} (${relative(session.expires_at)})`));
    }
  } else {
    parts.push(h('span', { class: 'muted' }, 'API key session (no expiry)'));
  }
  if (account.broker === 'zerodha') {
    const href = kiteLinks.get(account.id);
    if (href) {
      parts.push(' ', h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'link' }, 'Log in to Kite ↗'));
    } else {
      const button = h('button', { type: 'button', class: 'small ghost' }, 'Log in to Kite');
      button.addEventListener('click', () => busy(button, async () => {
        try {
          const answer = await get(`/v1/accounts/${seg(account.id)}/kite/login`);
          const url = safeUrl(answer.login_url);
          if (!url) throw new Error('the login link is not an http(s) address');
          kiteLinks.set(account.id, url);
          window.open(url, '_blank', 'noopener');
          render();
        } catch (error) {
          report(error, 'Kite login');
        }
      }));
      parts.push(' ', button);
    }
  }
  return h('div', { class: 'session' }, parts);
}

function checkBlock(account) {
  const button = h('button', { type: 'button', class: 'small ghost', dataset: { action: 'check' } }, 'Check now');
  button.addEventListener('click', () => busy(button, async () => {
    try {
      checks.set(account.id, await post(`/v1/accounts/${seg(account.id)}/check`));
    } catch (error) {
      checks.set(account.id, { error: error.message });
      report(error, 'Check');
    }
    render();
  }));
  const result = checks.get(account.id);
  let line = null;
  if (result?.error) line = h('span', { class: 'error-text' }, result.error);
  else if (result) {
    line = h('span', {}, badge(result.ok ? 'ok' : 'failed', result.ok ? 'st-ok' : 'st-rejected'), ' ',
             h('span', { class: 'muted' }, `${time(result.checked_at)}${result.detail ? ' · ' + result.detail : ''}`));
  }
  return h('div', { class: 'check' }, button, ' ', line);
}

function positionsTable(id) {
  const list = positions.get(id);
  const head = h('thead', {}, h('tr', {}, ['Symbol', 'Qty', 'Avg price', 'Realized P&L', 'Updated']
    .map((c, i) => h('th', { class: i >= 1 && i <= 3 ? 'num' : '' }, c))));
  let rows;
  if (!list) rows = [empty(5, 'loading…')];
  else if (list.error) rows = [empty(5, `Positions unavailable: ${list.error}`)];
  else if (!list.length) rows = [empty(5, 'No positions.')];
  else {
    rows = list.map((p) => h('tr', {},
      h('td', { class: 'sym', title: p.market }, p.symbol),
      h('td', { class: 'num' }, num(p.quantity)), h('td', { class: 'num' }, num(p.average_price)),
      h('td', { class: `num ${String(p.realized_pnl).startsWith('-') ? 'neg' : 'pos'}` }, money(p.realized_pnl)),
      h('td', { class: 'mono muted', title: p.updated_at }, time(p.updated_at))));
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid compact' }, head, h('tbody', {}, rows)));
}

function card(account) {
  const unlinked = Boolean(account.unlinked_at);
  const state = String(account.trading_state || 'active').toLowerCase();
  return h('article', { class: `account-card ${unlinked ? 'unlinked' : ''}`, dataset: { accountId: account.id } },
    h('header', { class: 'account-head' },
      h('div', {},
        h('h3', {}, accountName(account.id)),
        h('div', { class: 'muted small-text' },
          `${brokerName(account.broker)} · ${account.region || '—'} · `,
          h('span', { class: 'mono', title: account.id }, shortId(account.id)),
          account.api_key_hint ? h('span', { class: 'mono' }, ` · key ${account.api_key_hint}`) : '')),
      h('div', { class: 'tags' },
        h('span', { class: `tag tag-${account.mode}` }, String(account.mode).toUpperCase()),
        unlinked ? badge('unlinked', 'st-cancelled') : badge(state, `ts-${state}`))),
    unlinked ? h('p', { class: 'muted' }, `Unlinked ${time(account.unlinked_at)}`) : [
      h('div', { class: 'balance-slot' }, balanceBlock(account.id)),
      h('div', { class: 'row-between' }, h('span', { class: 'label' }, 'Execution'), modeToggle(account)),
      h('div', { class: 'row-between' }, h('span', { class: 'label' }, 'Session'), sessionBlock(account)),
      h('div', { class: 'row-between' }, h('span', { class: 'label' }, 'Health'), checkBlock(account)),
      h('div', { class: 'positions-slot' }, positionsTable(account.id)),
    ]);
}

function strip() {
  const accounts = activeAccounts();
  if (!accounts.length) {
    return [h('div', { class: 'strip-empty' }, 'No accounts yet: add a paper account on the Accounts tab.')];
  }
  return accounts.map((a) => {
    const balance = store.balances.get(a.id);
    const state = String(a.trading_state || 'active').toLowerCase();
    return h('div', { class: 'strip-card', dataset: { accountId: a.id } },
      h('div', { class: 'strip-top' },
        h('span', { class: 'strip-name' }, accountName(a.id)),
        h('span', { class: `tag tag-${a.mode}` }, String(a.mode).toUpperCase())),
      h('div', { class: 'strip-equity' },
        balance && !balance.error ? money(balance.equity) : '—',
        h('span', { class: 'ccy' }, balance?.currency || '')),
      h('div', { class: 'strip-bottom muted' },
        a.execution_mode === 'semi_manual' ? 'semi-manual' : 'automated',
        state !== 'active' ? [' · ', badge(state, `ts-${state}`)] : ''));
  });
}

export function render() {
  fill($('#account-strip'), strip());
  const list = store.accounts;
  fill($('#accounts-list'), list.length ? list.map(card)
    : h('p', { class: 'empty-note' }, 'No accounts linked. Add a paper account to start.'));
}

// Balances change every few seconds: update them in place, so buttons under the pointer stay put.
function renderBalances() {
  fill($('#account-strip'), strip());
  for (const slot of document.querySelectorAll('#accounts-list .account-card .balance-slot')) {
    fill(slot, balanceBlock(slot.closest('.account-card').dataset.accountId));
  }
}

export function reset() {
  positions.clear();
  checks.clear();
  kiteLinks.clear();
  $('#paper-form').reset();
  render();
}

export function mount(isVisible) {
  visible = isVisible;
  $('#paper-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const body = { broker: data.get('broker'), execution_mode: data.get('execution_mode') };
    const label = String(data.get('label') || '').trim();
    if (label) body.label = label;
    await busy($('#paper-add'), async () => {
      try {
        const account = await post('/v1/accounts/paper', body);
        upsertAccount(account);
        toast(`Paper account added: ${accountName(account.id)}`, 'success');
        $('#paper-label').value = '';
        await Promise.all([loadBalance(account.id), loadPositionsOf(account.id)]);
        emit('balances');
        render();
      } catch (error) {
        report(error, 'Add paper account');
      }
    });
  });
  on('accounts', render);
  on('balances', renderBalances);
}

export function start() {
  loadAccounts().then(() => Promise.all([loadBalances(), loadPositions()]));
  every(BALANCE_EVERY_MS, loadBalances);
  every(POSITIONS_EVERY_MS, () => visible() && loadPositions());
}
