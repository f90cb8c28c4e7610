// Risk: the effective limits per scope, and the kill switch (the user's own: halt / resume).

import { get, post } from './api.js';
import { h, $, fill, badge, compactJson, empty } from './dom.js';
import { store, on, emit, accountName, activeAccounts, throttle } from './store.js';
import { report, toast, busy, confirmAction, setOptions } from './ui.js';

const lower = (state) => (state ? String(state).toLowerCase() : 'active');

export async function loadKillswitch() {
  try {
    store.killswitch = await get('/v1/killswitch');
    emit('killswitch');
  } catch (error) {
    report(error, 'Kill switch');
  }
}

export const refreshSoon = throttle(() => {
  loadKillswitch();
  loadLimits();
}, 1000);

async function loadLimits() {
  const accountId = $('#limits-account').value;
  const mine = accountId;
  try {
    const answer = await get('/v1/risk/limits', { account_id: accountId });
    if ($('#limits-account').value === mine) renderLimits(answer);
  } catch (error) {
    fill($('#limits-table tbody'), empty(3, error.message));
    report(error, 'Limits');
  }
}

function renderLimits(answer) {
  const effective = answer.effective || {};
  const stored = answer.stored || {};
  $('#limits-scope').textContent = answer.scope ? `scope: ${typeof answer.scope === 'string' ? answer.scope
    : JSON.stringify(answer.scope)}` : '';
  const keys = Object.keys(effective).sort();
  fill($('#limits-table tbody'), keys.length ? keys.map((key) => {
    const own = stored[key] !== undefined && stored[key] !== null;
    const value = effective[key];
    return h('tr', { class: own ? 'overridden' : '' },
      h('td', { class: 'mono' }, key),
      h('td', { class: 'num' }, value !== null && typeof value === 'object' ? compactJson(value, 80) : String(value ?? '—')),
      h('td', { class: 'muted small-text' }, own ? 'set for this scope' : 'inherited'));
  }) : empty(3, 'No limits reported.'));
}

function stateBlock(name, state) {
  const value = lower(state);
  return h('div', { class: 'ks-item' }, h('span', { class: 'label' }, name), badge(value, `ts-${value}`));
}

function renderKillswitch() {
  const ks = store.killswitch;
  const box = $('#killswitch');
  const pill = $('#halt-pill');
  if (!ks) {
    fill(box, h('p', { class: 'muted' }, 'loading…'));
    pill.hidden = true;
    return;
  }
  const user = lower(ks.user);
  const global = lower(ks.global);
  const halted = user === 'halted' || global === 'halted';
  pill.hidden = !(halted || user === 'reducing' || global === 'reducing');
  pill.textContent = global === 'halted' ? 'GLOBAL HALT' : halted ? 'HALTED' : 'REDUCING';
  pill.className = `pill ${halted ? 'pill-halted' : 'pill-reducing'}`;

  const button = h('button', { type: 'button', id: 'killswitch-button', class: user === 'halted' ? 'primary' : 'danger big' },
                   user === 'halted' ? 'Resume trading' : 'HALT all my trading');
  button.addEventListener('click', async () => {
    const resume = user === 'halted';
    const reason = await confirmAction({
      title: resume ? 'Resume trading?' : 'Halt all your trading?',
      body: resume ? 'New orders will be sent again at every account that is not halted on its own.'
        : 'No new order will be sent at any of your accounts until you resume. Orders already at a broker stay there.',
      confirm: resume ? 'Resume' : 'Halt now', danger: !resume,
      reason: resume ? 'resumed from the dashboard' : 'halted from the dashboard', reasonRequired: true,
    });
    if (reason === null) return;
    await busy(button, async () => {
      try {
        const answer = await post('/v1/killswitch', { scope: 'user', state: resume ? 'active' : 'halted', reason });
        const withdrawn = (answer.cancelled?.length || 0) + (answer.withdrawn?.length || 0);
        toast(resume ? 'Trading resumed' : `Trading HALTED${withdrawn ? ` · ${withdrawn} orders cancelled or withdrawn` : ''}`,
              resume ? 'success' : 'error');
        store.killswitch = answer.states;
        emit('killswitch');
      } catch (error) {
        report(error, 'Kill switch');
      }
    });
  });
  const accounts = Object.entries(ks.effective || ks.accounts || {});
  fill(box,
    h('div', { class: `ks-state ks-${halted ? 'halted' : user === 'reducing' || global === 'reducing' ? 'reducing' : 'active'}` },
      halted ? 'TRADING HALTED' : user === 'reducing' || global === 'reducing' ? 'REDUCING ONLY' : 'TRADING ACTIVE'),
    h('div', { class: 'ks-grid' }, stateBlock('Global', ks.global), stateBlock('You', ks.user)),
    button,
    h('table', { class: 'grid compact' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Account'), h('th', {}, 'Own'), h('th', {}, 'Effective'))),
      h('tbody', {}, accounts.length ? accounts.map(([id, state]) => h('tr', {},
        h('td', { title: id }, accountName(id)),
        h('td', {}, badge(lower(ks.accounts?.[id]), `ts-${lower(ks.accounts?.[id])}`)),
        h('td', {}, badge(lower(state), `ts-${lower(state)}`)))) : empty(3, 'No accounts.'))));
}

export function reset() {
  fill($('#limits-table tbody'));
  $('#limits-scope').textContent = '';
  renderKillswitch();
}

export function mount() {
  $('#limits-account').addEventListener('change', loadLimits);
  on('killswitch', renderKillswitch);
  on('accounts', () => {
    const select = $('#limits-account');
    const before = select.value;
    setOptions(select, activeAccounts().map((a) => ({ value: a.id, label: accountName(a.id) })),
               { blank: 'Your defaults (all accounts)' });
    if (select.value !== before) loadLimits();
    renderKillswitch();
  });
}

export function start() {
  loadKillswitch();
  loadLimits();
}
