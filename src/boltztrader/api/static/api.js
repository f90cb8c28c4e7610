// The API client: bearer token from sessionStorage, problem+json errors, 401 -> sign in again.

const TOKEN_KEY = 'boltz.token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  // Aborted on sign-out, so no answer of the old session lands on the sign-in screen.
  controller: new AbortController(),
  renew() {
    this.controller.abort();
    this.controller = new AbortController();
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    const title = problem?.title || `HTTP ${status}`;
    const detail = problem?.detail;
    super(typeof detail === 'string' && detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.problem = problem || {};
  }
}

let unauthorized = () => {};

/** Called (once per request) when the service answers 401. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export function isAbort(error) {
  return error?.name === 'AbortError';
}

export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export const seg = (value) => encodeURIComponent(String(value));

async function readProblem(response) {
  const type = response.headers.get('content-type') || '';
  if (!type.includes('json')) return { title: `HTTP ${response.status}`, detail: response.statusText };
  try {
    const body = await response.json();
    if (Array.isArray(body.detail)) {
      // FastAPI's validation list, in case one slips through untranslated.
      body.detail = body.detail.map((e) => `${(e.loc || []).join('.')}: ${e.msg}`).join('; ');
    }
    return body;
  } catch {
    return { title: `HTTP ${response.status}` };
  }
}

/** One request; resolves to parsed JSON (null for 204) or, with raw, the Response. */
export async function request(method, path, { body, query, raw = false } = {}) {
  const token = session.token;
  // Signed out: a late timer's request is dropped here, not answered 401 over the sign-in screen.
  if (!token) throw new DOMException('signed out', 'AbortError');
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const signal = session.controller.signal;
  let response;
  try {
    response = await fetch(withQuery(path, query), {
      method, headers, signal, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, { title: 'No answer', detail: 'the service did not answer; is it running?' });
  }
  if (response.status === 401) {
    const problem = await readProblem(response);
    unauthorized(problem.detail || 'the token was refused');
    throw new ApiError(401, problem);
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body: body ?? {} });
export const patch = (path, body) => request('PATCH', path, { body });

/** The items of a list answer, whether a page ({items, next_cursor}) or a plain array. */
export function itemsOf(answer) {
  if (Array.isArray(answer)) return answer;
  if (answer && Array.isArray(answer.items)) return answer.items;
  return [];
}
