/**
 * A signed-in person for end-to-end tests of the account API: a user made the way a magic link
 * makes one (UsersService), a session made the way a sign-in makes one (SessionsService), and a
 * fetch that behaves like our own pages in a browser: it sends the session cookie, the
 * gateway's Origin, and the CSRF token on writes.
 */
import { randomBytes } from 'node:crypto';
import { UsersService } from '../../src/accounts/application/users.service';
import { SessionsService } from '../../src/auth/sessions/sessions.service';
import { Gateway } from './gateway';

export interface SignedIn {
  userId: string;
  accountId: string;
  email: string;
  sessionId: string;
  /** `tg_session=<token>` */
  cookie: string;
  csrf: string;
  /** fetch against the gateway, as our pages send it; a plain-object body is sent as JSON. */
  fetch(path: string, init?: Omit<RequestInit, 'body'> & { body?: unknown }): Promise<Response>;
}

export const uniqueEmail = (tag = 'person') => `${tag}-${randomBytes(4).toString('hex')}@example.org`;

export async function signedIn(gateway: Gateway, email = uniqueEmail()): Promise<SignedIn> {
  const users = gateway.app.get(UsersService);
  const sessions = gateway.app.get(SessionsService);
  const { user } = await users.signUpOrInByEmail(email, 'magic_link');
  const { sessionId, token } = await sessions.create(user.userId, 'magic_link', { ip: '127.0.0.1', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
  const cookie = `tg_session=${token}`;
  const origin = new URL(gateway.config.PUBLIC_URL).origin;
  const csrfAnswer = await fetch(`${gateway.url}/auth/csrf`, { headers: { cookie } });
  if (csrfAnswer.status !== 200) throw new Error(`GET /auth/csrf answered ${csrfAnswer.status}: ${await csrfAnswer.text()}`);
  const { token: csrf } = (await csrfAnswer.json()) as { token: string };
  return {
    userId: user.userId,
    accountId: user.accountId,
    email,
    sessionId,
    cookie,
    csrf,
    fetch(path, init = {}) {
      const method = (init.method ?? 'GET').toUpperCase();
      const headers = new Headers(init.headers);
      if (!headers.has('cookie')) headers.set('cookie', cookie);
      if (method !== 'GET' && method !== 'HEAD') {
        if (!headers.has('origin')) headers.set('origin', origin);
        if (!headers.has('x-csrf-token')) headers.set('x-csrf-token', csrf);
      }
      let body = init.body as RequestInit['body'];
      if (init.body !== undefined && typeof init.body === 'object' && init.body !== null && !(init.body instanceof Uint8Array)) {
        body = JSON.stringify(init.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      return fetch(`${gateway.url}${path}`, { ...init, method, headers, body });
    },
  };
}
