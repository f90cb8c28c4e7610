// Compliance (admins): everyone's orders, risk denials with reasons, kill-switch history, the audit
// trail of any chain, and the audit export as CSV.

import { get, request, itemsOf } from './api.js';
import { h, $, $$, fill, badge, sideTag, num, time, shortId, compactJson, empty } from './dom.js';
import { report, toast, busy, setOptions } from './ui.js';
import { auditTrail } from './audit.js';
import { STATUSES } from './orders.js';

const SECTIONS = {
  orders: {
    path: '/v1/admin/orders',
    columns: ['created_at', 'user_id', 'email', 'symbol', 'side', 'quantity', 'filled_quantity', 'average_price',
              'status', 'reject_reason', 'broker', 'account_id', 'id'],
  },
  denials: {
    path: '/v1/admin/denials',
    columns: ['created_at', 'user_id', 'account_id', 'symbol', 'market', 'side', 'quantity', 'reasons', 'verdicts',
              'judged_by', 'order_id'],
  },
  killswitch: {
    path: '/v1/admin/killswitch',
    columns: ['at', 'action', 'scope', 'scope_id', 'previous', 'state', 'reason', 'actor', 'seq'],
  },
};
const NUMERIC = new Set(['quantity', 'filled_quantity', 'average_price', 'price']);
const MAX_COLUMNS = 11;

function cell(key, value) {
  if (value === undefined || value === null || value === '') {
    return h('td', { class: NUMERIC.has(key) ? 'num muted' : 'muted' }, '—');
  }
  if (key === 'symbol') return h('td', { class: 'sym' }, String(value));
  if (key === 'verdicts' && Array.isArray(value)) {
    // The rules that said no, each with its reason on hover.
    const failed = value.filter((v) => v && v.passed === false);
    if (!failed.length) return h('td', { class: 'muted' }, `${value.length} passed`);
    return h('td', { class: 'reasons' }, failed.map((v) => h('span', { class: 'chip chip-bad',
      title: [v.reason, v.detail].filter(Boolean).join(' · ') }, v.rule)));
  }
  if (key === 'status' || key === 'state' || key === 'previous') {
    return h('td', {}, badge(value, `ts-${String(value).toLowerCase()}`));
  }
  if (key === 'side') return h('td', {}, sideTag(value));
  if (key.endsWith('_at') || key === 'at') return h('td', { class: 'mono muted', title: value }, time(value));
  if (NUMERIC.has(key)) return h('td', { class: 'num' }, num(value));
  if ((key.endsWith('_id') || key === 'id') && key !== 'scope_id') {
    return h('td', { class: 'mono muted', title: String(value) }, shortId(value));
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return h('td', { class: 'reasons' }, value.map((v) => h('span', { class: 'chip' }, v)));
  }
  if (typeof value === 'object') return h('td', {}, compactJson(value, 100));
  return h('td', {}, String(value));
}

function columnsOf(items, preferred) {
  const present = new Set(items.flatMap((i) => Object.keys(i)));
  const first = preferred.filter((k) => present.has(k));
  const rest = [...present].filter((k) => !first.includes(k) && k !== 'events');
  return [...first, ...rest].slice(0, MAX_COLUMNS);
}

function section(name) {
  const spec = SECTIONS[name];
  const root = $(`#compliance-${name}`);
  const table = $('table', root);
  const more = $('.more button', root);
  let cursor = null;
  let columns = [];
  let generation = 0;
  const form = $('form', root);

  async function load(first) {
    const mine = first ? ++generation : generation;
    const query = { limit: 100, cursor: first ? undefined : cursor };
    if (form) for (const [k, v] of new FormData(form)) query[k] = String(v).trim();
    try {
      const answer = await get(spec.path, query);
      if (mine !== generation) return;
      const items = itemsOf(answer);
      if (first) {
        columns = columnsOf(items, spec.columns);
        fill($('thead', table), h('tr', {}, columns.map((c) => h('th', { class: NUMERIC.has(c) ? 'num' : '' },
                                                               c.replaceAll('_', ' ')))));
        fill($('tbody', table));
      }
      const rows = items.map((item) => h('tr', {}, columns.map((c) => cell(c, item[c]))));
      if (first && !rows.length) fill($('tbody', table), empty(Math.max(columns.length, 1), 'Nothing here.'));
      else $('tbody', table).append(...rows);
      cursor = answer?.next_cursor || null;
      more.hidden = !cursor;
    } catch (error) {
      if (first) fill($('tbody', table), empty(Math.max(columns.length, 1), error.message));
      report(error, `Compliance ${name}`);
    }
  }
  more.addEventListener('click', () => busy(more, () => load(false)));
  if (form) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      load(true);
    });
  }
  return {
    load: () => load(true),
    reset() {
      generation += 1;
      form?.reset();
      fill($('thead', table));
      fill($('tbody', table));
      more.hidden = true;
    },
  };
}

let sections = {};
let trail = null;
let current = 'orders';

function show(name) {
  current = name;
  for (const button of $$('#compliance-nav button')) {
    button.setAttribute('aria-pressed', String(button.dataset.section === name));
    button.classList.toggle('on', button.dataset.section === name);
  }
  for (const panel of $$('.compliance-section')) panel.hidden = panel.dataset.section !== name;
  if (name === 'audit') trail.load();
  else sections[name].load();
}

async function exportCsv(button) {
  await busy(button, async () => {
    try {
      const response = await request('GET', '/v1/admin/audit/export.csv', { raw: true });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: `boltz-audit-${new Date().toISOString().slice(0, 10)}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      toast('Audit export downloaded', 'success');
    } catch (error) {
      report(error, 'Export');
    }
  });
}

export function mount() {
  setOptions($('#admin-status'), STATUSES.map((v) => ({ value: v, label: v.replaceAll('_', ' ') })),
             { blank: 'All statuses' });
  sections = Object.fromEntries(Object.keys(SECTIONS).map((name) => [name, section(name)]));
  trail = auditTrail($('#compliance-audit'), { admin: true });
  for (const button of $$('#compliance-nav button')) {
    button.addEventListener('click', () => show(button.dataset.section));
  }
  const exportButton = $('#export-csv');
  exportButton.addEventListener('click', () => exportCsv(exportButton));
}

/** The tab was opened: show the current section afresh. */
export function load() {
  show(current);
}

export function reset() {
  for (const s of Object.values(sections)) s.reset();
  trail?.reset();
  current = 'orders';
}
