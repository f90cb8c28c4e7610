// The live feed: /v1/ws with the token as first message, resume after the last seq seen,
// reconnect with exponential backoff and jitter, resume again from where it stopped.
// Close codes: 1008 the token was refused; 4400 a resume the server cannot serve (start afresh);
// 1013 too slow, 1011 server failure, anything else: reconnect and resume.

const MAX_BACKOFF_MS = 30000;
const STABLE_MS = 5000; // a connection that lived this long resets the backoff
const SILENCE_MS = 65000; // the server pings every 20 s; this much silence means a dead link

export class LiveFeed {
  /**
   * @param {object} hooks onEvent(event), onStatus(state, info), onResync() when there is
   *   nothing to resume from (take a fresh snapshot), onRefused(reason) on close code 1008.
   */
  constructor(token, hooks) {
    this.token = token;
    this.hooks = hooks;
    this.lastSeq = null; // kept in memory only: a reload starts from a fresh snapshot
    this.received = 0;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.watchdog = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'signed out');
    this.status('offline');
  }

  status(state, info = {}) {
    this.hooks.onStatus?.(state, { seq: this.lastSeq, received: this.received, ...info });
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/v1/ws`;
  }

  connect() {
    if (this.stopped) return;
    this.status(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let openedAt = 0;
    ws.onopen = () => {
      openedAt = Date.now();
      this.lastHeard = openedAt;
      ws.send(JSON.stringify({ type: 'auth', token: this.token }));
      const resume = this.lastSeq === null
        ? { type: 'resume', from: 'now' }
        : { type: 'resume', after_seq: this.lastSeq };
      ws.send(JSON.stringify(resume));
      clearInterval(this.watchdog);
      this.watchdog = setInterval(() => {
        if (Date.now() - this.lastHeard > SILENCE_MS && this.ws === ws) ws.close(4000, 'silent');
      }, 5000);
    };
    ws.onmessage = (message) => {
      this.lastHeard = Date.now();
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === 'ping') {
        ws.send('{"type":"pong"}');
        return;
      }
      if (data.type === 'ready') {
        // Events after_seq+1 .. head follow; from "now" there are none, and head is where we are.
        const fresh = this.lastSeq === null;
        if (fresh && typeof data.after_seq === 'number') this.lastSeq = data.after_seq;
        this.status('live');
        // Nothing to resume from: a snapshot taken now plus every event from here on is complete.
        if (fresh) this.hooks.onResync?.();
        return;
      }
      if (data.type !== 'event') return;
      if (typeof data.seq === 'number') {
        if (this.lastSeq !== null && data.seq <= this.lastSeq) return; // seen before a reconnect
        this.lastSeq = data.seq;
      }
      this.received += 1;
      this.status('live');
      this.hooks.onEvent?.(data);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.watchdog);
      if (this.stopped) return;
      if (openedAt && Date.now() - openedAt >= STABLE_MS) this.attempt = 0;
      if (event.code === 1008) this.hooks.onRefused?.(event.reason);
      // The server does not know our seq (a reset database?): start over from a fresh snapshot.
      if (event.code === 4400) this.lastSeq = null;
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    const ceiling = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.status('reconnecting', { retryAt: Date.now() + delay });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Reconnect at once (the "retry now" link). */
  now() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.connect();
  }
}
