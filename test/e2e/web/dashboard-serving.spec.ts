/**
 * How the API serves the dashboard's files (platform/http/web-dashboard.ts), on a small build
 * of our own (an index.html and two hashed assets): pages fall back to index.html, assets are
 * cached for good, and no API path ever answers the page instead of its own error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, startGateway } from '../../support/gateway';

const INDEX = '<!doctype html><html lang="en"><head><title>Tollgate</title><script type="module" src="/assets/index-Ab12Cd34.js"></script></head><body><div id="app"></div></body></html>';
const SCRIPT = 'console.log("dashboard")';

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-Ab12Cd34.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-Ef56Gh78.css'), 'body{margin:0}');
  return dir;
}

const isPage = async (res: Response) => res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/html') && (await res.text()) === INDEX;

describe('the dashboard served by the API', () => {
  let dir: string;
  let gw: Gateway;
  beforeAll(async () => {
    dir = fakeBuild();
    gw = await startGateway({ env: { WEB_DIR: dir } });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers / and client-side routes with index.html, never cached, under a CSP that allows only this origin', async () => {
    for (const path of ['/', '/projects', '/projects/8a6e0f7e-1b1f-4a55-9f4e-6b1f0d4c2a11', '/overview?from=2026-01-01', '/some/deep/route/']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(await isPage(res)).toBe(true);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves hashed assets with a year-long immutable cache and their own type', async () => {
    const js = await fetch(`${gw.url}/assets/index-Ab12Cd34.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe(SCRIPT);
    const css = await fetch(`${gw.url}/assets/index-Ef56Gh78.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('answers a missing asset or file 404, not the page (a stale tab asking for an old chunk must fail loudly)', async () => {
    for (const path of ['/assets/index-OldHash1.js', '/favicon.ico', '/robots.txt', '/projects/app.js']) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    }
  });

  it('never shadows an API prefix: unknown API paths keep their own 404 shape', async () => {
    const account = await fetch(`${gw.url}/api/no-such-route`);
    expect(account.status).toBe(404);
    expect(((await account.json()) as any).error.code).toBe('not_found');
    for (const path of ['/auth/nothing', '/staff/nothing', '/health/nothing', '/metrics/nothing', '/webhooks/stripe-nope']) {
      const res = await fetch(`${gw.url}${path}`);
      expect({ path, status: res.status, html: (res.headers.get('content-type') ?? '').includes('text/html') }).toEqual({ path, status: 404, html: false });
    }
    // /metrics itself is the scrape, never the page.
    const metrics = await fetch(`${gw.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    await metrics.body?.cancel();
    const openai = await fetch(`${gw.url}/v1/no-such-route`);
    expect(openai.status).toBe(404);
    expect(((await openai.json()) as any).error).toMatchObject({ type: expect.any(String) });
    const gemini = await fetch(`${gw.url}/v1beta/nothing`);
    expect(gemini.status).toBe(404);
    expect(await isPage(gemini)).toBe(false);
    // Routes that exist are untouched.
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect((await fetch(`${gw.url}/openapi.json`)).headers.get('content-type')).toMatch(/json/);
  });

  it('serves the page only to GET and HEAD', async () => {
    const post = await fetch(`${gw.url}/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(404);
    const head = await fetch(`${gw.url}/projects`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-cache');
  });

  it('never serves a file outside the build (traversal, encoded or not)', async () => {
    for (const path of ['/assets/../../package.json', '/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/%2e%2e/package.json']) {
      const res = await fetch(`${gw.url}${path}`);
      const body = await res.text();
      expect(body).not.toContain('"name": "tollgate"');
      expect(body).not.toContain('"name":"tollgate"');
    }
  });

  it('answers a very long or odd path without failing', async () => {
    const long = await fetch(`${gw.url}/${'a/'.repeat(2000)}`);
    expect([200, 404, 414, 431]).toContain(long.status);
    const odd = await fetch(`${gw.url}/%00%ff`);
    expect(odd.status).toBeLessThan(500);
  });
});

describe('the API without a dashboard build', () => {
  it('starts, says so in one log line, and answers / 404 while the API works', async () => {
    const gw = await startGateway({ env: { WEB_DIR: join(tmpdir(), 'tollgate-no-such-web-build') } });
    try {
      const line = gw.logs.find((l) => l.includes('the dashboard is not built'));
      expect(line).toBeDefined();
      expect(JSON.parse(line!).level).toBe(40); // warn
      expect((await fetch(`${gw.url}/`)).status).toBe(404);
      expect((await fetch(`${gw.url}/projects`)).status).toBe(404);
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
