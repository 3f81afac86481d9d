/**
 * A real OpenID Provider (oidc-provider 9, an ES module on Koa) for the OAuth tests, run as a
 * child process because jest cannot load it: `node test/support/oidc-issuer-server.mjs --client-id ID
 * --client-secret S --redirect-uri URL [--redirect-uri URL…] [--claims-in-id-token] [--port N]` prints
 * `{"url"}` on one line once it listens on 127.0.0.1 (a free port unless given), and serves until SIGTERM.
 *
 * The parts a browser would do are plain HTTP here, so a test drives them with fetch:
 * - accounts: `PUT /test/accounts/{sub}` with `{ email, email_verified, name }` (what the
 *   provider will claim for that subject); a control route of this test server only.
 * - login: the authorization endpoint redirects to `/interaction/{uid}`, whose form posts
 *   `login={sub}` to `/interaction/{uid}/login` (any registered subject, no password).
 * - consent: skipped, as for a first-party client (loadExistingGrant grants the requested
 *   scopes), so a signed-in person goes straight back to the client.
 * By default (conformIdTokenClaims) the ID token carries only `sub`, and email, email_verified
 * and name are at the userinfo endpoint; `--claims-in-id-token` puts them in the ID token too,
 * as Google does.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'claims-in-id-token': { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
  },
});
if (!args['client-id'] || !args['client-secret'] || !args['redirect-uri']?.length) {
  process.stderr.write('usage: oidc-issuer-server.mjs --client-id ID --client-secret S --redirect-uri URL [--claims-in-id-token] [--port N]\n');
  process.exit(2);
}

// Stage markers on stderr: when a start hangs, the test's diagnosis shows the last one reached.
const stage = (what) => process.stderr.write(`oidc-issuer: ${what} at ${Math.round(performance.now())} ms\n`);
stage('loading oidc-provider');
const { default: Provider } = await import('oidc-provider');
stage('loaded');

/** sub → claims the provider asserts for that person. */
const accounts = new Map();

async function readBody(req, limit = 64 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(type === 'application/json' ? JSON.stringify(body) : body);
}

let provider;
const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: err.message });
    else res.destroy();
  });
});

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const account = url.pathname.match(/^\/test\/accounts\/([^/]+)$/);
  if (account && req.method === 'PUT') {
    const claims = JSON.parse(await readBody(req));
    accounts.set(decodeURIComponent(account[1]), claims);
    return send(res, 204, '', 'text/plain');
  }
  const login = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (login) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== 'login') return send(res, 400, { error: 'unexpected_prompt', prompt: details.prompt.name });
    if (req.method === 'GET' && !login[2]) {
      return send(
        res,
        200,
        `<form method="post" action="/interaction/${details.uid}/login"><input name="login"><button>Sign in</button></form>`,
        'text/html; charset=utf-8',
      );
    }
    if (req.method === 'POST' && login[2]) {
      const sub = new URLSearchParams(await readBody(req)).get('login') ?? '';
      if (!accounts.has(sub)) return send(res, 400, { error: 'unknown_account' });
      return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    }
  }
  return provider.callback()(req, res);
}

await new Promise((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
stage('listening');
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

stage('key made');
provider = new Provider(issuer, {
  clients: [
    {
      client_id: args['client-id'],
      client_secret: args['client-secret'],
      redirect_uris: args['redirect-uri'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: !args['claims-in-id-token'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const claims = accounts.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name']);
    await grant.save();
    return grant;
  },
});
// Errors the provider answers (a replayed code, a bad PKCE verifier) are the test's subject,
// not this server's failure: nothing to print.
provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-issuer server_error: ${err.stack}\n`));

stage('provider made');
process.stdout.write(`${JSON.stringify({ url: issuer })}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
