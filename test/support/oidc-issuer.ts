/**
 * Starts test/support/oidc-issuer-server.mjs (a real oidc-provider) as a child process the test owns,
 * and drives what a person would do there: register the claims of a subject, and sign in as
 * them on the provider's login form. See the .mjs for what the server does.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
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
  // Half a second on an idle machine. CI and a loaded machine each once saw one stay alive with
  // ~300 ms of CPU and never print its line, which no local run reproduced: so a start that does
  // not answer in 25 s is diagnosed (its own stage markers on stderr, a Node diagnostic report of
  // where its JS and libuv were), the diagnosis printed, and one more process tried.
  let child: ChildProcess | undefined;
  let line: string | undefined;
  for (let attempt = 1; line === undefined; attempt++) {
    const started = await startIssuerProcess(argv, attempt === 1 ? 25_000 : 50_000);
    child = started.child;
    if (started.line !== undefined) line = started.line;
    else if (attempt === 2) throw new Error(`the OIDC issuer did not start twice; the last: ${started.diagnosis}`);
    else console.warn(`the OIDC issuer did not start within 25 s, trying another; ${started.diagnosis}`);
  }
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    clientId,
    clientSecret,
    process: child!,
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
      const running = child!;
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once('exit', resolve));
        running.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** One issuer process and its first line, or (the process killed) why there was none within `timeoutMs`. */
async function startIssuerProcess(argv: string[], timeoutMs: number): Promise<{ child: ChildProcess; line?: string; diagnosis?: string }> {
  const reports = await mkdtemp(join(tmpdir(), 'oidc-issuer-report-'));
  const child = spawn(process.execPath, ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    void exited.then((code) => reject(new Error(`oidc-issuer exited (${code}) before listening: ${stderr}`)));
  });
  const started = Date.now();
  const diagnose = async () => {
    const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuMs = fields.length > 13 ? ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 : NaN;
    const wchan = await readFile(`/proc/${child.pid}/wchan`, 'utf8').catch(() => '?');
    child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 2000));
    const report = await readdir(reports)
      .then((files) => (files[0] ? readFile(join(reports, files[0]), 'utf8') : ''))
      .catch(() => '');
    let where = 'no diagnostic report (the JS thread never ran again)';
    if (report) {
      const r = JSON.parse(report) as { javascriptStack?: { stack?: string[] }; libuv?: Array<{ type: string; is_active: boolean }> };
      const handles = (r.libuv ?? []).filter((h) => h.is_active).map((h) => h.type);
      where = `JS stack: ${JSON.stringify(r.javascriptStack?.stack?.slice(0, 12))}; active libuv handles: ${handles.join(', ')}`;
    }
    return (
      `pid ${child.pid} ${child.exitCode === null ? 'still running' : `exited ${child.exitCode}`} after ${Date.now() - started} ms, ` +
      `${cpuMs} ms of CPU, waiting in ${wchan}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
      `stderr: ${JSON.stringify(stderr.slice(-2000))}; ${where}`
    );
  };
  try {
    return { child, line: await within(firstLine, timeoutMs, 'the OIDC issuer to start', diagnose) };
  } catch (err) {
    child.kill('SIGKILL');
    return { child, diagnosis: (err as Error).message };
  } finally {
    await rm(reports, { recursive: true, force: true });
  }
}
