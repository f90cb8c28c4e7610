// BoltzTrader dashboard: sign-in, tabs, the live feed, and the hand-off of its events to the views.

import { session, get, onUnauthorized } from './api.js';
import { $, $$ } from './dom.js';
import { LiveFeed } from './live.js';
import { store, resetStore, stopTimers, throttle } from './store.js';
import { report } from './ui.js';
import { auditTrail } from './audit.js';
import * as orders from './orders.js';
import * as signal from './signal.js';
import * as accounts from './accounts.js';
import * as charts from './charts.js';
import * as risk from './risk.js';
import * as compliance from './compliance.js';

const TABS = ['trading', 'accounts', 'charts', 'risk', 'audit', 'compliance'];
let tab = 'trading';
let feed = null;
let signedIn = false;
let trail = null;

const showing = (name) => () => signedIn && tab === name && !document.hidden;

// ---- signing in and out

function showSignin(message = '') {
  $('#app').hidden = true;
  $('#signin').hidden = false;
  const note = $('#signin-message');
  note.textContent = message;
  note.hidden = !message;
  $('#token').value = '';
  $('#token').focus();
}

function signOut(message = '') {
  signedIn = false;
  feed?.stop();
  feed = null;
  session.token = null;
  session.renew();
  stopTimers();
  resetStore();
  orders.reset();
  signal.reset();
  accounts.reset();
  charts.reset();
  risk.reset();
  trail.reset();
  compliance.reset();
  showSignin(message);
}

onUnauthorized((detail) => {
  signOut(`The service refused the token (401): ${detail}. Sign in with a valid API token.`);
});

async function enter() {
  const me = await get('/v1/me');
  store.me = me;
  signedIn = true;
  $('#signin').hidden = true;
  $('#app').hidden = false;
  $('#whoami-email').textContent = me.email;
  const role = $('#whoami-role');
  role.textContent = me.role;
  role.className = `tag ${me.role === 'admin' ? 'tag-admin' : 'tag-user'}`;
  $('#tab-compliance').hidden = me.role !== 'admin';

  feed = new LiveFeed(session.token, {
    onEvent,
    onStatus: showLive,
    onResync: () => orders.reload(),
    onRefused: () => get('/v1/me').catch(() => {}), // a 401 here signs out; anything else retries
  });
  feed.start();
  orders.reload();
  accounts.start();
  risk.start();
  charts.start();
  const wanted = location.hash.slice(1);
  showTab(TABS.includes(wanted) && (wanted !== 'compliance' || me.role === 'admin') ? wanted : 'trading');
}

// ---- the live feed

const auditSoon = throttle(() => showing('audit')() && trail.load(), 2000);

function onEvent(event) {
  const data = event.data || {};
  const action = String(event.action || '');
  const orderId = event.entity === 'order' ? event.entity_id : data.order_id;
  if (orderId) orders.refreshOrder(orderId);
  for (const outcome of Array.isArray(data.outcomes) ? data.outcomes : []) orders.refreshOrder(outcome.order_id);
  const fill = event.kind === 'fill' || action.includes('fill');
  if (fill || event.kind === 'position') accounts.refreshSoon();
  if (fill) charts.refreshFillsSoon();
  if (event.kind === 'account') accounts.reloadAccountsSoon();
  if (event.kind === 'risk' || action.startsWith('killswitch')) risk.refreshSoon();
  auditSoon();
}

const LIVE_TEXT = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', offline: 'offline' };

function showLive(state, info) {
  const box = $('#live');
  box.dataset.state = state;
  box.dataset.seq = info.seq === null ? '' : String(info.seq);
  box.dataset.received = String(info.received);
  let text = LIVE_TEXT[state] || state;
  if (state === 'reconnecting' && info.retryAt) text = `retry in ${Math.max(1, Math.round((info.retryAt - Date.now()) / 1000))}s`;
  $('#live-text').textContent = text;
  box.title = state === 'live'
    ? `Live updates over the WebSocket${info.seq === null ? '' : ` · last event #${info.seq}`}`
    : 'The live feed is down; it reconnects by itself and then catches up on what it missed. Click to retry now.';
}

// ---- tabs

function showTab(name) {
  tab = name;
  for (const button of $$('.tabs button')) {
    const on = button.dataset.tab === name;
    button.setAttribute('aria-selected', String(on));
    button.classList.toggle('on', on);
  }
  for (const view of $$('.view')) view.hidden = view.dataset.view !== name;
  if (location.hash.slice(1) !== name) history.replaceState(null, '', `#${name}`);
  if (name === 'accounts') accounts.loadPositions();
  if (name === 'charts') charts.render();
  if (name === 'trading') charts.renderFocus();
  if (name === 'risk') risk.refreshSoon();
  if (name === 'audit') trail.load();
  if (name === 'compliance') compliance.load();
}

// ---- start

function mount() {
  orders.mount();
  signal.mount();
  accounts.mount(showing('accounts'));
  charts.mount(showing('charts'), showing('trading'));
  risk.mount();
  compliance.mount();
  trail = auditTrail($('#audit-root'));

  for (const button of $$('.tabs button')) button.addEventListener('click', () => showTab(button.dataset.tab));
  $('#signout').addEventListener('click', () => signOut('Signed out.'));
  $('#live').addEventListener('click', () => feed?.now());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && signedIn && tab === 'charts') charts.render();
  });

  $('#signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('#token').value.trim();
    if (!token) return;
    session.token = token;
    const button = $('#signin-button');
    button.disabled = true;
    try {
      await enter();
    } catch (error) {
      if (error.status !== 401) {
        session.token = null;
        showSignin(`Could not sign in: ${error.message}`);
      }
    } finally {
      button.disabled = false;
    }
  });
}

mount();
if (session.token) {
  enter().catch((error) => {
    if (error.status !== 401) {
      report(error, 'Sign-in');
      session.token = null;
      showSignin(`Could not reach the service: ${error.message}`);
    }
  });
} else {
  showSignin();
}
