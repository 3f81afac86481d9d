/**
 * The dashboard in a real browser for end-to-end tests: Debian's Chromium (/usr/bin/chromium)
 * driven by playwright-core, headless, against a gateway that serves a fresh build of web/.
 *
 * - `describeInBrowser` runs a suite only where Chromium exists; elsewhere it skips, saying why.
 * - `buildWeb()` builds web/ once per version of its sources into a temporary directory (pass it
 *   to the gateway as WEB_DIR), so the tests see the code as it is, never a stale dist/web.
 * - `launchBrowser()`, `signedInPage()` (a session made the way a sign-in makes one, as a cookie),
 *   `expectAccessible()` (axe-core in the page: no serious or critical violation),
 *   `screenshot()` (to test-results/screens/, git-ignored) and `watchRequests()` (every request
 *   the page made, to prove there is none to another origin).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';
import { repoRoot } from '../../src/platform/paths';
import { SignedIn } from './account-client';
import { Gateway } from './gateway';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const browserAvailable = (): boolean => existsSync(CHROMIUM);

/** `describe` when Chromium is installed; otherwise a skipped suite and a warning that says so. */
export function describeInBrowser(name: string, body: () => void): void {
  if (browserAvailable()) {
    describe(name, body);
    return;
  }
  console.warn(`SKIPPED: ${name} (no Chromium at ${CHROMIUM}; install Debian's chromium package, as .ci/run does)`);
  describe.skip(name, body);
}

let built: Promise<string> | undefined;

/** Every file that goes into the build, hashed: the build's name, so a changed source is built anew. */
function sourcesHash(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(path.slice(root.length)).update('\0').update(readFileSync(path));
    }
  };
  walk(join(root, 'web'));
  hash.update(readFileSync(join(root, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * web/ built with its own Vite config; the directory's path. Built once per version of the
 * sources (a hash of web/ and the lock names the directory under the temporary directory), so
 * the browser test files of one run, in any worker, share one build, and a test never sees a
 * stale one. Two workers building at once each build into their own directory and the first
 * rename wins.
 */
export function buildWeb(): Promise<string> {
  built ??= (async () => {
    const root = repoRoot();
    const finalDir = join(tmpdir(), `tollgate-web-build-${sourcesHash(root)}`);
    if (existsSync(join(finalDir, 'index.html'))) return finalDir;
    const outDir = mkdtempSync(join(tmpdir(), 'tollgate-web-building-'));
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(root, 'web/vite.config.ts'), '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: root,
      timeout: 120_000,
    });
    try {
      renameSync(outDir, finalDir);
    } catch {
      rmSync(outDir, { recursive: true, force: true }); // another worker's build got there first
    }
    return finalDir;
  })();
  return built;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** A browser context whose only cookie is this person's session, and a page in it. */
export async function signedInPage(browser: Browser, gateway: Gateway, person: SignedIn, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: gateway.url });
  const [name, value] = person.cookie.split('=');
  await context.addCookies([{ name, value, url: gateway.url, httpOnly: true, sameSite: 'Lax' }]);
  return { context, page: await context.newPage() };
}

/** Waits until the overview shows its data (it sets data-ready="overview"). */
export const overviewReady = (page: Page, timeout = 15_000) => page.waitForSelector('[data-ready="overview"]', { timeout });

let axeSource: string | undefined;

/**
 * axe-core run in the page: fails listing every serious or critical violation. Evaluated over
 * the DevTools protocol, so the page's CSP (no inline script) stays on while it runs.
 */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(`${axeSource}\n;window.__axe = axe;`);
  const result = await page.evaluate<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown }> }> }>(
    `window.__axe.run(document, { resultTypes: ['violations'] })`,
  );
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  if (bad.length) throw new Error(`axe found on the ${screen} screen:\n${bad.join('\n')}`);
}

/** A full-page screenshot to test-results/screens/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(repoRoot(), 'test-results', 'screens');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Every URL the page asks for from now on (documents, scripts, styles, fetches, images). */
export function watchRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}
