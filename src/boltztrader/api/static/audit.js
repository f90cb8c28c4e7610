// The audit trail (hash-chained) with its verification; the same view serves the Compliance tab,
// where an admin may pick any chain.

import { get, itemsOf } from './api.js';
import { h, fill, time, shortId, compactJson, empty } from './dom.js';
import { report, busy } from './ui.js';

const COLUMNS = ['Seq', 'Recorded', 'Actor', 'Action', 'Entity', 'Payload', 'Hash'];

/** An audit trail view inside `root`; returns {load, reset}. */
export function auditTrail(root, { admin = false } = {}) {
  const verifyBadge = h('span', { class: 'badge st-unknown verify-badge', dataset: { verified: '' } }, 'not verified');
  const verifyDetail = h('span', { class: 'muted small-text verify-detail' });
  const verifyButton = h('button', { type: 'button', class: 'small ghost' }, 'Verify');
  const action = h('input', { name: 'action', placeholder: 'action, e.g. order.fill', autocomplete: 'off' });
  const entity = h('input', { name: 'entity_id', placeholder: 'entity id', autocomplete: 'off' });
  const chain = admin ? h('input', { name: 'chain', placeholder: 'chain: global, signals, user:<id>',
                                     title: 'Empty: your own chain', autocomplete: 'off' }) : null;
  const form = h('form', { class: 'filters' }, action, entity, chain,
                 h('button', { type: 'submit', class: 'small' }, 'Filter'));
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'small ghost', hidden: true }, 'Load more');
  fill(root,
    h('div', { class: 'panel-head' },
      h('div', { class: 'verify' }, h('h2', {}, 'Audit trail'), verifyBadge, verifyDetail, verifyButton), form),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'grid audit-table' }, h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', {}, c)))), body)),
    h('div', { class: 'more' }, more));

  let cursor = null;
  let generation = 0;

  function rows(items) {
    return items.map((e) => h('tr', {},
      h('td', { class: 'num muted' }, String(e.seq ?? '')),
      h('td', { class: 'mono muted', title: e.recorded_at }, time(e.recorded_at)),
      h('td', { class: 'muted' }, e.actor ?? '—'),
      h('td', { class: 'mono' }, e.action ?? '—'),
      h('td', {}, h('span', {}, e.entity ?? ''), ' ', h('span', { class: 'mono muted', title: e.entity_id ?? '' },
                                                        shortId(e.entity_id))),
      h('td', { class: 'payload' }, compactJson(e.payload, 140)),
      h('td', { class: 'mono muted', title: e.hash ?? '' }, String(e.hash ?? '').slice(0, 10))));
  }

  async function page(first) {
    const mine = first ? ++generation : generation;
    const query = { limit: 50, action: action.value.trim(), entity_id: entity.value.trim(),
                    chain: chain ? chain.value.trim() : undefined, cursor: first ? undefined : cursor };
    try {
      const answer = await get('/v1/audit', query);
      if (mine !== generation) return;
      const items = itemsOf(answer);
      if (first) fill(body, items.length ? rows(items) : empty(COLUMNS.length, 'No entries.'));
      else body.append(...rows(items));
      cursor = answer?.next_cursor || null;
      more.hidden = !cursor;
    } catch (error) {
      if (first) fill(body, empty(COLUMNS.length, error.message));
      report(error, 'Audit');
    }
  }

  async function verify() {
    try {
      const answer = await get('/v1/audit/verify');
      const chains = answer.chains || [];
      const entries = chains.reduce((sum, c) => sum + (Number(c.entries) || 0), 0);
      verifyBadge.className = `badge verify-badge ${answer.ok ? 'st-ok' : 'st-rejected'}`;
      verifyBadge.dataset.verified = answer.ok ? 'ok' : 'broken';
      verifyBadge.textContent = answer.ok ? 'chain verified' : 'chain BROKEN';
      const broken = chains.filter((c) => !c.ok);
      verifyDetail.textContent = answer.ok
        ? `${entries} entries in ${chains.length} chain${chains.length === 1 ? '' : 's'} · ${time(new Date().toISOString())}`
        : broken.map((c) => `${c.chain}: ${c.problem || 'mismatch'}`).join('; ');
    } catch (error) {
      verifyBadge.className = 'badge verify-badge st-unknown';
      verifyBadge.textContent = 'not verified';
      verifyDetail.textContent = error.message;
      report(error, 'Audit verify');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    page(true);
  });
  more.addEventListener('click', () => busy(more, () => page(false)));
  verifyButton.addEventListener('click', () => busy(verifyButton, verify));

  return {
    load() {
      page(true);
      verify();
    },
    reset() {
      generation += 1;
      form.reset();
      fill(body);
      more.hidden = true;
      verifyBadge.className = 'badge st-unknown verify-badge';
      verifyBadge.textContent = 'not verified';
      verifyDetail.textContent = '';
    },
  };
}
