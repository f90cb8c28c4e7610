// What the page knows while it is open: nothing here outlives the tab, and sign-out clears it.

export const store = {
  me: null,
  accounts: [], // AccountOut, linked ones first
  balances: new Map(), // account id -> balance
  equity: new Map(), // account id -> [{t, v}] recorded while the page is open
  killswitch: null,
};

const listeners = new Map();

/** Subscribe to a topic ("accounts", "balances", "orders", "killswitch", "event", ...). */
export function on(topic, handler) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(handler);
}

export function emit(topic, payload) {
  for (const handler of listeners.get(topic) || []) {
    try {
      handler(payload);
    } catch (error) {
      console.error(`listener of ${topic} failed`, error);
    }
  }
}

// Timers of the signed-in session, all stopped on sign-out.
const timers = new Set();

export function every(ms, task) {
  const id = setInterval(task, ms);
  timers.add(id);
  return id;
}

export function stopTimers() {
  for (const id of timers) clearInterval(id);
  timers.clear();
}

export function resetStore() {
  store.me = null;
  store.accounts = [];
  store.balances.clear();
  store.equity.clear();
  store.killswitch = null;
}

export function accountById(id) {
  return store.accounts.find((a) => a.id === id) || null;
}

const BROKER_NAMES = { zerodha: 'Kite', binance: 'Binance', alpaca: 'Alpaca' };

export function brokerName(broker) {
  return BROKER_NAMES[broker] || broker || '?';
}

/** A short human name for an account: its label, or "Binance paper" ("· 1a2b" when ambiguous). */
export function accountName(id) {
  const account = accountById(id);
  if (!account) return id ? `${String(id).slice(0, 8)}` : '—';
  const base = (a) => (a.label && a.label !== a.mode ? a.label : `${brokerName(a.broker)} ${a.mode}`);
  const name = base(account);
  // Two accounts of one name are told apart by broker, then by the end of their ids.
  const twins = store.accounts.filter((a) => a.id !== account.id && base(a) === name);
  if (!twins.length) return name;
  if (name.includes(brokerName(account.broker))) return `${name} · ${account.id.slice(-4)}`;
  const sameBroker = twins.some((a) => a.broker === account.broker);
  return `${name} · ${brokerName(account.broker)}${sameBroker ? ` ${account.id.slice(-4)}` : ''}`;
}

export function activeAccounts() {
  return store.accounts.filter((a) => !a.unlinked_at);
}

/** Run a task now and then at most once per `ms` while calls keep coming (trailing call kept). */
export function throttle(task, ms) {
  let timer = null;
  let pending = false;
  return () => {
    if (timer) {
      pending = true;
      return;
    }
    task();
    timer = setTimeout(function tick() {
      timer = null;
      if (pending) {
        pending = false;
        task();
        timer = setTimeout(tick, ms);
      }
    }, ms);
  };
}
