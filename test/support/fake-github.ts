/**
 * A small local GitHub for the OAuth tests: one node:http server speaking GitHub's real wire
 * format for an OAuth app (the web flow: /login/oauth/authorize, /login/oauth/access_token with
 * PKCE, JSON or form answers and its 200-with-`error` refusals) and the two REST routes a
 * sign-in reads (/user, /user/emails, which need a User-Agent like the real API).
 *
 * The person signed in at "GitHub" is the browser's `user_session` cookie there
 * (`sessionCookie(id)`), so each test's browser is its own; tests steer users in-process
 * (rename a login, change emails), never through the gateway.
 */
import { createHash, randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
  visibility?: 'public' | 'private' | null;
}

export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
  /** The public profile email /user shows (often null). */
  email: string | null;
  emails: GitHubEmail[];
}

export interface FakeGitHub {
  /** http://127.0.0.1:PORT: both GITHUB_OAUTH_URL and GITHUB_API_URL. */
  url: string;
  clientId: string;
  clientSecret: string;
  users: Map<number, GitHubUser>;
  addUser(user: GitHubUser): GitHubUser;
  /** The cookie header of a browser signed in at GitHub as this user (`deny`: they press Cancel). */
  sessionCookie(userId: number, opts?: { deny?: boolean }): string;
  /** A browser signed in at GitHub as this user opening the authorization URL: where GitHub sends it back. */
  signIn(authorizationUrl: string | URL, userId: number, opts?: { deny?: boolean }): Promise<URL>;
  /** Token requests answered, and how many of them were refused. */
  readonly tokenRequests: { total: number; refused: number; lastBody: Record<string, string> | null };
  close(): Promise<void>;
}

interface Grant {
  userId: number;
  clientId: string;
  redirectUri: string | null;
  scope: string;
  codeChallenge: string | null;
  expiresAt: number;
  used: boolean;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGitHub(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeGitHub> {
  const clientId = opts.clientId ?? `Iv1.${randomBytes(8).toString('hex')}`;
  const clientSecret = opts.clientSecret ?? randomBytes(20).toString('hex');
  const users = new Map<number, GitHubUser>();
  const codes = new Map<string, Grant>();
  const tokens = new Map<string, { userId: number; scope: string }>();
  const tokenRequests = { total: 0, refused: 0, lastBody: null as Record<string, string> | null };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => json(res, 500, { message: err.message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://github.test');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') return authorize(req, url, res);
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') return accessToken(req, res);
    if (req.method === 'GET' && (url.pathname === '/user' || url.pathname === '/user/emails')) return api(req, url.pathname, res);
    json(res, 404, { message: 'Not Found', documentation_url: DOCS });
  }

  function authorize(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const cid = q.get('client_id');
    if (cid !== clientId) return html(res, 404, '<p>Not Found</p>');
    const session = /(?:^|;\s*)user_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const user = session ? users.get(Number(session.replace(/^deny:/, ''))) : undefined;
    if (!user) return html(res, 200, '<form action="/session" method="post">Sign in to GitHub</form>');
    const redirectUri = q.get('redirect_uri');
    const state = q.get('state');
    const back = new URL(redirectUri ?? 'http://callback.invalid/');
    if (state !== null) back.searchParams.set('state', state);
    if (session?.startsWith('deny:')) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user has denied your application access.');
      back.searchParams.set('error_uri', 'https://docs.github.com/apps/troubleshooting-authorization-request-errors');
    } else {
      const method = q.get('code_challenge_method');
      if (q.get('code_challenge') && method !== 'S256') return html(res, 400, '<p>unsupported code_challenge_method</p>');
      const code = randomBytes(10).toString('hex');
      codes.set(code, {
        userId: user.id,
        clientId: cid,
        redirectUri,
        scope: q.get('scope') ?? '',
        codeChallenge: q.get('code_challenge'),
        expiresAt: Date.now() + 10 * 60_000,
        used: false,
      });
      back.searchParams.set('code', code);
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  async function accessToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    tokenRequests.total += 1;
    const raw = await readBody(req);
    const body: Record<string, string> = (req.headers['content-type'] ?? '').includes('json')
      ? (JSON.parse(raw) as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(raw));
    tokenRequests.lastBody = body;
    const wantsJson = (req.headers.accept ?? '').includes('application/json');
    // GitHub refuses with 200 and an `error` field, in the format the client asked for.
    const refuse = (error: string, description: string) => {
      tokenRequests.refused += 1;
      answer(res, wantsJson, { error, error_description: description, error_uri: `${DOCS}/oauth` });
    };
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return refuse('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    }
    const grant = codes.get(body.code ?? '');
    if (!grant || grant.used || grant.expiresAt < Date.now() || grant.clientId !== body.client_id) {
      if (grant) grant.used = true;
      return refuse('bad_verification_code', 'The code passed is incorrect or expired.');
    }
    grant.used = true;
    if (grant.redirectUri !== null && body.redirect_uri !== grant.redirectUri) {
      return refuse('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    }
    if (grant.codeChallenge !== null) {
      const computed = createHash('sha256').update(body.code_verifier ?? '').digest('base64url');
      if (computed !== grant.codeChallenge) return refuse('bad_verification_code', 'The code_verifier does not match the code_challenge.');
    }
    const token = `gho_${randomBytes(18).toString('base64url')}`;
    tokens.set(token, { userId: grant.userId, scope: grant.scope });
    answer(res, wantsJson, { access_token: token, token_type: 'bearer', scope: grant.scope.split(/[ ,]+/).filter(Boolean).join(',') });
  }

  function api(req: IncomingMessage, path: string, res: ServerResponse): void {
    if (!req.headers['user-agent']) {
      return json(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
    }
    const token = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return json(res, 401, { message: 'Requires authentication', documentation_url: DOCS });
    const grant = tokens.get(token);
    const user = grant && users.get(grant.userId);
    if (!grant || !user) return json(res, 401, { message: 'Bad credentials', documentation_url: DOCS });
    if (path === '/user') {
      return json(res, 200, {
        login: user.login,
        id: user.id,
        node_id: Buffer.from(`04:User${user.id}`).toString('base64'),
        avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
        type: 'User',
        site_admin: false,
        name: user.name,
        email: user.email,
      });
    }
    if (!grant.scope.split(/[ ,]+/).includes('user:email')) return json(res, 404, { message: 'Not Found', documentation_url: DOCS });
    json(res, 200, user.emails.map((e) => ({ visibility: null, ...e })));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sessionCookie = (userId: number, o: { deny?: boolean } = {}) => `user_session=${o.deny ? 'deny:' : ''}${userId}`;
  return {
    url,
    clientId,
    clientSecret,
    users,
    tokenRequests,
    addUser(user) {
      users.set(user.id, user);
      return user;
    },
    sessionCookie,
    async signIn(authorizationUrl, userId, o = {}) {
      const res = await fetch(authorizationUrl, { redirect: 'manual', headers: { cookie: sessionCookie(userId, o) } });
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`fake GitHub answered ${res.status} to the authorization request`);
      return new URL(location);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function answer(res: ServerResponse, wantsJson: boolean, body: Record<string, string>): void {
  if (wantsJson) return json(res, 200, body);
  res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
  res.end(new URLSearchParams(body).toString());
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
