/**
 * Starts test/support/oidc-issuer-server.mjs (a real oidc-provider) as a child process the test owns,
 * and drives what a person would do there: register the claims of a subject, and sign in as
 * them on the provider's login form. See the .mjs for what the server does.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { within } from './wait';

export interface IssuerAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

export interface OidcIssuer {
  /** The issuer identifier, http://127.0.0.1:PORT. */
  url: string;
  clientId: string;
  clientSecret: string;
  /** What the provider will claim for `sub` from now on. */
  setAccount(sub: string, claims: IssuerAccount): Promise<void>;
  /**
   * A person's browser at the provider: opens the authorization URL, signs in as `sub` on the
   * login form, and returns where the provider sends the browser back (the client's callback
   * with code and state, or with an error). Each call is a fresh browser (its own cookies).
   */
  signIn(authorizationUrl: string | URL, sub: string): Promise<URL>;
  /** Stops the process (SIGTERM) and waits for it. */
  close(): Promise<void>;
  /** Stops it, as an outage: discovery and the token endpoint no longer answer. */
  readonly process: ChildProcess;
}

export interface IssuerOptions {
  clientId?: string;
  clientSecret?: string;
  redirectUris: string[];
  /** Email, email_verified and name in the ID token too (as Google), not only at userinfo. */
  claimsInIdToken?: boolean;
  /** A port of the test's choosing (to bring an issuer up where a gateway already points); default a free one. */
  port?: number;
}

export async function startOidcIssuer(opts: IssuerOptions): Promise<OidcIssuer> {
  const clientId = opts.clientId ?? 'tollgate-test';
  const clientSecret = opts.clientSecret ?? 'test-client-secret-0123456789abcdef';
  const argv = [join(__dirname, 'oidc-issuer-server.mjs'), '--client-id', clientId, '--client-secret', clientSecret];
  for (const uri of opts.redirectUris) argv.push('--redirect-uri', uri);
  if (opts.claimsInIdToken) argv.push('--claims-in-id-token');
  if (opts.port !== undefined) argv.push('--port', String(opts.port));
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', resolve);
    void exited.then((code) => reject(new Error(`oidc-issuer exited (${code}) before listening: ${stderr}`)));
  });
  // Half a second on an idle machine; CI once saw more than 20 s with two jest workers and the
  // other tests' children on two cores. Wait long, and say what the child was doing if even that
  // is not enough (its CPU time tells a starved process from a stuck one).
  const started = Date.now();
  const diagnose = async () => {
    const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = fields.length > 13 ? ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 : NaN;
    return (
      `pid ${child.pid} ${child.exitCode === null ? 'still running' : `exited ${child.exitCode}`} after ${Date.now() - started} ms, ` +
      `${cpuMs} ms of CPU, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; stderr: ${JSON.stringify(stderr.slice(-2000))}`
    );
  };
  let line: string;
  try {
    line = await within(firstLine, 50_000, 'the OIDC issuer to start', diagnose);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    clientId,
    clientSecret,
    process: child,
    async setAccount(sub, claims) {
      const res = await fetch(`${url}/test/accounts/${encodeURIComponent(sub)}`, { method: 'PUT', body: JSON.stringify(claims) });
      if (res.status !== 204) throw new Error(`oidc-issuer refused the account: ${res.status} ${await res.text()}`);
    },
    async signIn(authorizationUrl, sub) {
      const jar = new Map<string, string>();
      const go = async (target: string | URL, init: RequestInit = {}) => {
        const res = await fetch(target, {
          ...init,
          redirect: 'manual',
          headers: { ...(init.headers as Record<string, string>), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const eq = pair.indexOf('=');
          jar.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        return res;
      };
      const next = (res: Response) => {
        const location = res.headers.get('location');
        if (res.status < 300 || res.status > 399 || !location) throw new Error(`oidc-issuer answered ${res.status} where a redirect was expected`);
        return new URL(location, url);
      };
      let at = next(await go(authorizationUrl));
      // Already signed in at the issuer would skip the form; a fresh browser never is.
      if (at.origin === url && at.pathname.startsWith('/interaction/')) {
        const form = await go(at);
        if (form.status !== 200) throw new Error(`oidc-issuer login page answered ${form.status}: ${await form.text()}`);
        await form.body?.cancel();
        at = next(await go(`${at.href}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login: sub }).toString() }));
        while (at.origin === url) at = next(await go(at));
      }
      return at;
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
