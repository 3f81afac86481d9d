/**
 * The requests screen's filters in headless Chromium against the real API: calls through the
 * official `openai` SDK (fake upstream, one refused by it) with two named keys and two models.
 * Each filter (model, outcome, key by its name, a range of UTC days) shows exactly the rows
 * GET /api/requests answers for the same query, paging on with the filter ("Show older
 * requests" past the first 25), an empty range says so, and clearing shows everything again.
 */
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

type Json = Record<string, any>;

describeInBrowser('the requests screen’s filters in Chromium', () => {
  let upstream: FakeUpstream;
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let person: SignedIn;
  const keys: Record<string, string> = {};
  const today = new Date().toISOString().slice(0, 10);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const TOTAL = 30 + 4 + 1;

  /** Every id GET /api/requests answers for this query, following the cursor. */
  async function apiIds(query: string): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await person.fetch(`/api/requests?${query}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as Json;
      ids.push(...(page.data as Json[]).map((r) => r.id as string));
      cursor = page.nextCursor as string | null;
    } while (cursor);
    return ids;
  }
  const rows = () => page.locator('tr[data-request-id]');
  const shownIds = () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-request-id')));
  /** Submits the filters and waits until the list shows exactly `want` (polled from here: the CSP forbids in-page polling). */
  async function filterTo(want: string[]): Promise<void> {
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await waitFor(async () => JSON.stringify(await shownIds()) === JSON.stringify(want), 15_000, `the ${want.length} rows the API answers`);
  }

  beforeAll(async () => {
    const [webDir, up] = await Promise.all([buildWeb(), startFakeUpstream()]);
    upstream = up;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir } });
    person = await signedIn(gw);
    await gw.app.get(LedgerService).execute(person.accountId, { type: 'GrantCredits', data: { grantId: 'requests-filters', amount: 5_000_000n, reason: 'browser test' } });
    const project = (await (await person.fetch('/api/projects', { method: 'POST', body: { name: 'Filters' } })).json()) as Json;
    for (const name of ['alpha', 'beta']) {
      const key = (await (await person.fetch(`/api/projects/${project.id as string}/keys`, { method: 'POST', body: { name } })).json()) as Json;
      keys[name] = key.id as string;
      keys[`${name}-secret`] = key.secret as string;
    }
    const client = (name: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys[`${name}-secret`], maxRetries: 0 });
    for (let i = 0; i < 30; i++) await client('alpha').chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: `alpha ${i}` }] });
    for (let i = 0; i < 4; i++) await client('beta').chat.completions.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: `beta ${i}` }] });
    upstream.script({ kind: 'status', status: 500 });
    await expect(client('beta').chat.completions.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'refused' }] })).rejects.toBeTruthy();
    await gw.requests(person.accountId, TOTAL);
    browser = await launchBrowser();
    ({ context, page } = await signedInPage(browser, gw, person));
    page.setDefaultTimeout(15_000);
  }, 240_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('by model: the first 25 of the matching rows, then the rest with the filter kept', async () => {
    await page.goto('/requests');
    await page.waitForSelector('[data-ready="requests"]');
    await waitFor(async () => (await rows().count()) === 25, 15_000, 'the first page');
    // The models and keys offered are those with requests, keys by their names.
    await waitFor(async () => (await page.getByLabel('Model').locator('option').count()) === 3, 15_000, 'the models offered');
    expect((await page.getByLabel('Model').locator('option').allInnerTexts()).sort()).toEqual(['Any model', 'gpt-4o', 'gpt-4o-mini']);
    expect((await page.getByLabel('API key').locator('option').allInnerTexts()).sort()).toEqual(['Any key', 'alpha', 'beta']);

    await page.getByLabel('Model').selectOption('gpt-4o-mini');
    const mini = await apiIds('model=gpt-4o-mini');
    expect(mini).toHaveLength(30);
    await filterTo(mini.slice(0, 25));
    await page.getByRole('button', { name: 'Show older requests' }).click();
    await waitFor(async () => (await rows().count()) === 30, 15_000, 'every gpt-4o-mini request');
    expect(await shownIds()).toEqual(mini);
    expect(await page.getByRole('button', { name: 'Show older requests' }).count()).toBe(0);
    await expectAccessible(page, 'requests (filtered)');
  });

  it('by outcome, by key (named), and combined', async () => {
    await page.getByLabel('Model').selectOption('');
    await page.getByLabel('Outcome').selectOption({ label: 'Failed (status 400 and above)' });
    const failed = await apiIds('outcome=error');
    expect(failed).toHaveLength(1);
    await filterTo(failed);
    expect(Number((await rows().first().locator('td.num').first().innerText()).split(/\s/)[0])).toBeGreaterThanOrEqual(400);

    await page.getByLabel('Outcome').selectOption('ok');
    await page.getByLabel('API key').selectOption({ label: 'beta' });
    const beta = await apiIds(`outcome=ok&key=${keys.beta}`);
    expect(beta).toHaveLength(4);
    await filterTo(beta);
    await screenshot(page, 'requests-filtered');
  });

  it('by UTC days: today holds them all, a range before it holds none and says so; clearing shows everything again', async () => {
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('From (UTC day)').fill(yesterday);
    await page.getByLabel('To (UTC day, included)').fill(today);
    const recent = await apiIds(`from=${yesterday}&to=${today}`);
    expect(recent).toHaveLength(TOTAL);
    await filterTo(recent.slice(0, 25));

    await page.getByLabel('From (UTC day)').fill('2026-01-01');
    await page.getByLabel('To (UTC day, included)').fill('2026-01-31');
    expect(await apiIds('from=2026-01-01&to=2026-01-31')).toEqual([]);
    await filterTo([]);
    await page.getByText('No request matches these filters.').waitFor();

    await page.getByRole('button', { name: 'Clear filters' }).click();
    const all = (await apiIds('')).slice(0, 25);
    await waitFor(async () => JSON.stringify(await shownIds()) === JSON.stringify(all), 15_000, 'the unfiltered first page');
    expect(await page.getByLabel('From (UTC day)').inputValue()).toBe('');
  });

  it('at 360 px the filters fit without sideways scrolling and pass axe', async () => {
    const small = await signedInPage(browser, gw, person, { width: 360, height: 740 });
    try {
      small.page.setDefaultTimeout(15_000);
      await small.page.goto('/requests');
      await small.page.waitForSelector('[data-ready="requests"]');
      expect(await small.page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
      await expectAccessible(small.page, 'requests at 360 px');
    } finally {
      await small.context.close();
    }
  });
});
