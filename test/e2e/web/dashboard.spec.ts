/**
 * The dashboard in headless Chromium against the real API on a real database: sign in by a
 * magic link caught by a real SMTP receiver, create a project and a key, call the gateway with
 * that key through the official `openai` SDK (fake upstream, real wire format), and see the
 * balance, free requests, spend and chart move on the overview; then regenerate and revoke the
 * key and see the gateway agree. axe-core checks each screen; screenshots go to
 * test-results/screens/. The page never asks another origin for anything.
 */
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, watchRequests } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const LINK = /(http:\/\/127\.0\.0\.1:\d+\/auth\/magic-link\/verify\?token=[A-Za-z0-9_-]{43})/;
const MODEL = 'gpt-4o-mini';

describeInBrowser('the dashboard in Chromium (magic link, projects and keys, overview)', () => {
  let upstream: FakeUpstream;
  let smtp: SmtpReceiver;
  let gw: Gateway;
  let browser: Browser;
  let page: Page;
  let requested: string[];
  const email = uniqueEmail('dash');
  let secret = '';

  beforeAll(async () => {
    const [webDir, up, mail] = await Promise.all([buildWeb(), startFakeUpstream(), startSmtpReceiver()]);
    upstream = up;
    smtp = mail;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir, SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <login@tollgate.test>' } });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: gw.url });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.url });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    requested = watchRequests(page);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await smtp?.close();
    await upstream?.close();
  });

  const figure = (name: string) => page.locator(`[data-figure="${name}"]`).innerText();

  it('signs in by magic link: the form, the "check your mail" state, the mailed link, the overview', async () => {
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    await expectAccessible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    await page.getByLabel('Email address').fill(email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
    expect(await page.locator('[data-state="sent"]').innerText()).toContain(email);
    await expectAccessible(page, 'sign-in (sent)');
    await screenshot(page, 'sign-in-sent');

    const mail = await smtp.messageTo(email);
    const link = LINK.exec(mail.text)![1];
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gw.url}/`);
    await overviewReady(page);
    expect(await figure('balance')).toBe('$0.00');
    expect(await figure('spend-today')).toBe('$0.00');
    expect(Number(await figure('free-requests'))).toBeGreaterThan(0);
    expect(await page.locator('table.by-model').innerText()).toContain('No requests in these 30 days.');
    await expectAccessible(page, 'overview');
    await screenshot(page, 'overview-new-account');
  });

  it('creates a project and a key; the secret is shown once, with a copy button that copies it', async () => {
    await page.getByRole('link', { name: 'Projects and keys' }).click();
    await page.getByRole('heading', { name: 'Projects and keys' }).waitFor();
    // The table's scroll region is named and reachable by keyboard (it scrolls sideways on a small screen).
    const region = page.getByRole('region', { name: 'Your projects' });
    expect(await region.getAttribute('tabindex')).toBe('0');
    expect(await region.locator('table caption').innerText()).toBe('Your projects');
    await region.focus();
    expect(await page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe('Your projects');
    await expectAccessible(page, 'projects (empty)');
    await screenshot(page, 'projects-empty');
    await page.getByLabel('New project').fill('Website');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: 'Website' }).waitFor();
    expect(page.url()).toMatch(/\/projects\/[0-9a-f-]{36}$/);

    await page.getByLabel('Name', { exact: true }).fill('production');
    await page.getByLabel('Spending cap (credits)').fill('not money');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toContain('spendCap');

    await page.getByLabel('Spending cap (credits)').fill('25');
    await page.getByLabel('Requests per minute').fill('600');
    await page.getByRole('button', { name: 'Create key' }).click();
    const panel = page.locator('[data-secret-panel]');
    await panel.waitFor();
    secret = (await page.locator('[data-secret]').innerText()).trim();
    expect(secret).toMatch(/^tg-/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    const item = page.locator('li[data-key-id]');
    await item.waitFor();
    expect(await item.innerText()).toMatch(/cap \$25\.00; 600 req\/min/);
    expect(await item.locator('[data-last-used]').innerText()).toBe('never');
    await expectAccessible(page, 'project keys');
    await screenshot(page, 'project-keys-new-secret');

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await panel.count()).toBe(0);
    // The secret is nowhere in the page any more, and a reload cannot bring it back.
    await page.reload();
    await page.locator('li[data-key-id]').waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it('shows the API’s own message and code when a write is refused (a project name already taken)', async () => {
    await page.getByRole('link', { name: 'Projects and keys' }).click();
    await page.getByRole('heading', { name: 'Projects and keys' }).waitFor();
    await page.getByLabel('New project').fill('WEBSITE');
    await page.getByRole('button', { name: 'Create project' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/\(project_name_taken\)$/);
    expect(page.url()).toBe(`${gw.url}/projects`);
    await expectAccessible(page, 'projects (refused)');
    await screenshot(page, 'projects-refused');
  });

  it('a call through the gateway with that key moves the free requests, balance, spend and chart', async () => {
    const me = await (await page.request.get('/api/me')).json();
    await gw.app.get(LedgerService).execute(me.accountId, { type: 'GrantCredits', data: { grantId: 'web-test', amount: 5_000_000n, reason: 'browser test' } });
    const balance = await (await page.request.get('/api/balance')).json();
    const free: number = balance.freeRequests;

    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    // The free requests go first; one more is paid for.
    for (let i = 0; i <= free; i++) {
      const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `hello number ${i}` }] });
      expect(answer.choices[0].message.content).toBeTruthy();
    }
    const rows = await gw.requests(me.accountId, free + 1);
    const paid = rows.filter((r) => !r.free_request);
    expect(paid).toHaveLength(1);
    const cost = BigInt(paid[0].cost_micros);
    expect(cost).toBeGreaterThan(0n);
    const dollars = (micros: bigint) => `$${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0')}`;

    await page.getByRole('link', { name: 'Overview' }).click();
    await overviewReady(page);
    expect(await figure('free-requests')).toBe('0');
    expect(await figure('balance')).toBe(dollars(5_000_000n - cost));
    expect(await figure('spend-today')).toBe(dollars(cost));
    expect(await figure('spend-month')).toBe(dollars(cost));
    const row = page.locator(`tr[data-model="${MODEL}"]`);
    expect(await row.innerText()).toContain(String(free + 1));
    expect(await row.innerText()).toContain(dollars(cost));
    // uPlot drew the chart: a canvas of the container's width, labelled for screen readers.
    const chart = page.locator('.chart');
    expect(await chart.getAttribute('aria-label')).toContain(dollars(cost));
    const canvas = await chart.locator('canvas').boundingBox();
    expect(canvas!.width).toBeGreaterThan(300);
    await expectAccessible(page, 'overview with usage');
    await screenshot(page, 'overview-with-usage');
  });

  it('regenerate shows a new secret once (the old one stops working); revoke stops the key', async () => {
    await page.getByRole('link', { name: 'Projects and keys' }).click();
    await page.getByRole('link', { name: 'Website' }).click();
    const item = page.locator('li[data-key-id]');
    await item.waitFor();
    expect(await item.locator('[data-last-used]').innerText()).not.toBe('never');

    page.once('dialog', (d) => void d.accept());
    await item.getByRole('button', { name: 'Regenerate' }).click();
    await page.locator('[data-secret-panel]').waitFor();
    const fresh = (await page.locator('[data-secret]').innerText()).trim();
    expect(fresh).not.toBe(secret);
    const call = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    await expect(call(secret)).rejects.toMatchObject({ status: 401 });
    await expect(call(fresh)).resolves.toBeTruthy();
    await page.getByRole('button', { name: 'Done' }).click();

    page.once('dialog', (d) => void d.accept());
    await item.getByRole('button', { name: 'Revoke' }).click();
    await item.locator('[data-status="revoked"]').waitFor();
    await expect(call(fresh)).rejects.toMatchObject({ status: 401 });
    await screenshot(page, 'project-keys-revoked');
  });

  it('asked nothing of any other origin, and signs out', async () => {
    const foreign = requested.filter((u) => !u.startsWith(gw.url) && !u.startsWith('data:') && !u.startsWith('blob:'));
    expect(foreign).toEqual([]);
    expect(requested.some((u) => u.includes('/assets/'))).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    expect((await page.request.get('/api/me')).status()).toBe(401);
  });
});
