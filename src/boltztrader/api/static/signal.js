// "Send a test signal": a signal as a model would send it, to one of the user's accounts.

import { post } from './api.js';
import { h, $, fill, badge } from './dom.js';
import { on, accountById, accountName, activeAccounts } from './store.js';
import { report, busy, setOptions } from './ui.js';
import { refreshOrder } from './orders.js';

// What each broker's paper venue trades, so the form starts with something that works.
const DEFAULTS = {
  binance: { market: 'crypto', symbol: 'BTCUSDT', quantity: '0.001' },
  zerodha: { market: 'nse', symbol: 'INFY', quantity: '1' },
  alpaca: { market: 'us', symbol: 'AAPL', quantity: '1' },
};
const DEFAULT_SYMBOLS = new Set(Object.values(DEFAULTS).map((d) => d.symbol));
const MARKETS = ['crypto', 'crypto_futures', 'nse', 'bse', 'nfo', 'us'];

function newSignalId() {
  const random = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  return `dash-${random}`;
}

function presetFor(accountId) {
  const account = accountById(accountId);
  const preset = account && DEFAULTS[account.broker];
  if (!preset) return;
  const symbol = $('#signal-symbol');
  if (!symbol.value || DEFAULT_SYMBOLS.has(symbol.value.toUpperCase())) {
    symbol.value = preset.symbol;
    $('#signal-quantity').value = preset.quantity;
  }
  $('#signal-market').value = preset.market;
}

let lastAnswer = null;

function showOutcome(answer) {
  lastAnswer = answer;
  const box = $('#signal-result');
  const outcomes = answer.outcomes || [];
  if (!outcomes.length) {
    fill(box, h('span', { class: 'muted' }, 'Accepted; it reached no account.'));
    return;
  }
  fill(box, outcomes.map((o) => h('div', { class: 'outcome' },
    badge(o.status), ' ', h('span', {}, accountName(o.account_id)),
    o.reasons?.length ? h('span', { class: 'reason' }, ` — ${o.reasons.join(', ')}`) : '',
    answer.replay ? h('span', { class: 'muted' }, ' (replay)') : '')));
}

export function reset() {
  lastAnswer = null;
  $('#signal-form').reset();
  fill($('#signal-result'));
}

export function mount() {
  setOptions($('#signal-market'), MARKETS.map((m) => ({ value: m, label: m })));
  const form = $('#signal-form');
  $('#signal-account').addEventListener('change', (event) => presetFor(event.target.value));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('#signal-send');
    const data = new FormData(form);
    const body = {
      id: newSignalId(),
      model_id: 'dashboard',
      symbol: String(data.get('symbol')).trim().toUpperCase(),
      market: data.get('market'),
      side: data.get('side'),
      quantity: String(data.get('quantity')).trim(),
      confidence: String(data.get('confidence')).trim(),
      created_at: new Date().toISOString(),
      account_id: data.get('account_id') || undefined,
    };
    const limit = String(data.get('limit_price') || '').trim();
    if (limit) body.limit_price = limit;
    await busy(button, async () => {
      try {
        const answer = await post('/v1/signals', body);
        showOutcome(answer);
        for (const outcome of answer.outcomes || []) refreshOrder(outcome.order_id);
      } catch (error) {
        lastAnswer = null;
        fill($('#signal-result'), h('span', { class: 'error-text' }, error.message));
        report(error, 'Signal');
      }
    });
  });
  on('accounts', () => {
    const select = $('#signal-account');
    const before = select.value;
    setOptions(select, activeAccounts().map((a) => ({ value: a.id, label: accountName(a.id) })));
    if (select.value && select.value !== before) presetFor(select.value);
    if (lastAnswer) showOutcome(lastAnswer); // account names may have changed
  });
}
