/**
 * The overview's chart of the last 30 days by model, in Chromium against the real API: calls
 * through the official `openai` SDK (fake upstream) with two models draw two series, named in
 * the legend and in the table screen readers get; with seven models the five costliest are
 * drawn one by one and the rest as "Other models", in the order GET /api/usage?group_by=day,model
 * ranks them, with the exact figures of that answer in the table.
 */
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { parseCredits } from '../../../src/shared/money';
import { SignedIn, signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, signedInPage } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

/** "$1,234.5678" as the dashboard shows credits (whole cents at least, more decimals when there are). */
function dollars(credits: string): string {
  const micros = parseCredits(credits);
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `$${(micros / 1_000_000n).toLocaleString('en-US')}.${fraction}`;
}

interface UsageAnswer {
  data: Array<{ group: string; subgroup: string | null; cost: string }>;
}

const SEVEN = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-5-mini', 'gpt-5-nano'];

describeInBrowser('the overview chart by model in Chromium', () => {
  let upstream: FakeUpstream;
  let gw: Gateway;
  let browser: Browser;
  const today = new Date().toISOString().slice(0, 10);
  const thirtyAgo = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);

  beforeAll(async () => {
    const [webDir, up] = await Promise.all([buildWeb(), startFakeUpstream()]);
    upstream = up;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir } });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  /** A person with credit whose key has made `calls` (model names, in order) through the proxy. */
  async function personWith(calls: string[]): Promise<SignedIn> {
    const person = await signedIn(gw);
    await gw.app.get(LedgerService).execute(person.accountId, { type: 'GrantCredits', data: { grantId: `overview-${person.accountId}`, amount: 5_000_000n, reason: 'browser test' } });
    const key = await gw.key(person.accountId);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    for (const [i, model] of calls.entries()) await client.chat.completions.create({ model, max_tokens: 10 + i, messages: [{ role: 'user', content: `overview chart ${i}` }] });
    await gw.requests(person.accountId, calls.length);
    return person;
  }

  async function overviewOf(person: SignedIn): Promise<{ page: Page; close: () => Promise<void> }> {
    const { context, page } = await signedInPage(browser, gw, person);
    page.setDefaultTimeout(15_000);
    await page.goto('/');
    await overviewReady(page);
    return { page, close: () => context.close() };
  }

  const legendOf = (page: Page) => page.getByRole('list', { name: 'Chart legend' }).getByRole('listitem').allInnerTexts();
  const tableHeads = (page: Page) => page.locator('table[data-chart-table] thead th').allInnerTexts();

  it('two models: two series, both in the legend and in the screen readers’ table', async () => {
    const person = await personWith(['gpt-4o-mini', 'gpt-4o', 'gpt-4o-mini']);
    const answer = (await (await person.fetch(`/api/usage?group_by=day,model&top=5&from=${thirtyAgo}&to=${today}`)).json()) as UsageAnswer;
    expect(answer.data.map((l) => [l.group, l.subgroup])).toEqual(expect.arrayContaining([[today, 'gpt-4o'], [today, 'gpt-4o-mini']]));
    expect(answer.data).toHaveLength(2);

    const { page, close } = await overviewOf(person);
    try {
      const legend = await legendOf(page);
      expect([...legend].sort()).toEqual(['gpt-4o', 'gpt-4o-mini']);
      expect(legend).toEqual(answer.data.map((l) => l.subgroup));
      expect(await tableHeads(page)).toEqual(['Day (UTC)', ...legend]);
      // The day's row holds each model's exact cost, as the API answered it.
      expect(await page.locator('table[data-chart-table] tbody tr').count()).toBe(1);
      expect(await page.locator('table[data-chart-table] tbody th').innerText()).toBe(today);
      const row = page.locator('table[data-chart-table] tbody tr').first();
      expect(await row.locator('td').allInnerTexts()).toEqual(answer.data.map((l) => dollars(l.cost)));
      const chart = page.locator('.chart');
      expect(await chart.getAttribute('aria-label')).toContain('gpt-4o-mini');
      expect((await chart.locator('canvas').boundingBox())!.width).toBeGreaterThan(300);
      await expectAccessible(page, 'overview by model');
      await screenshot(page, 'overview-two-models');
    } finally {
      await close();
    }
  });

  it('seven models: the five costliest one by one, the rest as "Other models", in the API’s order and figures', async () => {
    // The free requests go first (cost 0), then one paid call per model, each a different price.
    const person = await personWith([...Array.from({ length: 20 }, () => 'gpt-4o-mini'), ...SEVEN]);
    const answer = (await (await person.fetch(`/api/usage?group_by=day,model&top=5&from=${thirtyAgo}&to=${today}`)).json()) as UsageAnswer;
    expect(answer.data).toHaveLength(6);
    expect(answer.data[5].subgroup).toBeNull();
    const named = answer.data.slice(0, 5).map((l) => l.subgroup);
    expect(new Set(named).size).toBe(5);

    const { page, close } = await overviewOf(person);
    try {
      expect(await legendOf(page)).toEqual([...named, 'Other models']);
      expect(await tableHeads(page)).toEqual(['Day (UTC)', ...named, 'Other models']);
      const row = page.locator('table[data-chart-table] tbody tr').first();
      expect(await row.locator('td').allInnerTexts()).toEqual(answer.data.map((l) => dollars(l.cost)));
      // The by-model table still lists all seven.
      expect(await page.locator('table.by-model tbody tr[data-model]').count()).toBe(7);
      await expectAccessible(page, 'overview with other models');
      await screenshot(page, 'overview-seven-models');
    } finally {
      await close();
    }
  });
});
