/**
 * The one way the dashboard talks to the API: same-origin fetch with the session cookie, JSON
 * in and out, the CSRF token of `GET /auth/csrf` on every write (the account API refuses a
 * cookie-authenticated write without it), and every failure as an ApiError carrying the API's
 * own `{ error: { code, message } }`, which screens show as it is (components/error-message.tsx).
 */

export class ApiError extends Error {
  constructor(
    /** The API's stable code (`unauthenticated`, `validation_failed`, ...), or `network` / `bad_response`. */
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Sent as Idempotency-Key on creating POSTs, so a retried click makes one thing. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  /** False for the sign-in routes, which are used without a session (and so without a token). */
  csrf?: boolean;
}

let csrfToken: Promise<string> | null = null;
const signedOutListeners = new Set<() => void>();

/**
 * Called when an answer says the session is gone (ended elsewhere, expired): the app shows the
 * sign-in screen instead of an error on whatever screen was open. Returns the unsubscribe.
 */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

/** Forget the CSRF token (it belongs to a session: after sign-in or sign-out it changes). */
export function resetSession(): void {
  csrfToken = null;
}

async function csrf(): Promise<string> {
  csrfToken ??= request<{ token: string }>('/auth/csrf').then(
    (r) => r.token,
    (err: unknown) => {
      csrfToken = null;
      throw err;
    },
  );
  return csrfToken;
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    const e = body.error;
    if (e && typeof e.code === 'string' && typeof e.message === 'string') return new ApiError(e.code, e.message, res.status);
  } catch {
    // not JSON: a proxy in between, or the server is restarting
  }
  return new ApiError('bad_response', `the server answered ${res.status} ${res.statusText}`.trim(), res.status);
}

async function send(path: string, opts: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers['x-csrf-token'] = token;
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  try {
    return await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError('network', 'the gateway could not be reached; check your connection and try again', 0);
  }
}

/** A JSON answer of the API (undefined for 204), or an ApiError. */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await respond(path, opts);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * The answer itself, for a body read as it arrives (the assistant's server-sent events): the
 * same CSRF token, retry and ApiError as request(); the caller reads `body` (signal aborts it).
 */
export function stream(path: string, opts: RequestOptions = {}): Promise<Response> {
  return respond(path, opts);
}

async function respond(path: string, opts: RequestOptions): Promise<Response> {
  const write = (opts.method ?? 'GET') !== 'GET' && opts.csrf !== false;
  let res = await send(path, opts, write ? await csrf() : null);
  if (write && res.status === 403) {
    // A token from an earlier session (signed out and in on another tab): fetch a fresh one, once.
    const err = await errorOf(res.clone());
    if (err.code !== 'csrf') throw err;
    resetSession();
    res = await send(path, opts, await csrf());
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (err.code === 'unauthenticated') {
      resetSession();
      signedOutListeners.forEach((l) => l());
    }
    throw err;
  }
  return res;
}

/** A fresh Idempotency-Key for one user action (getRandomValues: randomUUID needs a secure context). */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
