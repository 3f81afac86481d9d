/**
 * The usage, requests, pricing and quick-start screens in headless Chromium against the real
 * API on a real database: calls through the official `openai` SDK (fake upstream, real wire
 * format) show up on the usage chart and table (by day, model, key and project) and in the CSV
 * the page downloads, which is byte for byte the API's; the request log pages through them and
 * opens each receipt with the API's figures; the price list, signed out, shows every model of
 * GET /api/pricing at its prices; the quick start's snippets name the page's own origin. axe
 * checks each screen, at 1280 and 360 px; screenshots go to test-results/screens/.
 */
import { waitFor } from '../../support/wait';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { PublicPrices } from '../../../src/proxy/pricing/public-prices';
import { parseCredits } from '../../../src/shared/money';
import { SignedIn, signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

const MODEL = 'gpt-4o-mini';
const CALLS = 27; // more than a page of the request log (25)

/** "$1,234.5678" as the dashboard shows credits (whole cents at least, more decimals when there are). */
function dollars(credits: string): string {
  const micros = parseCredits(credits);
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `$${(micros / 1_000_000n).toLocaleString('en-US')}.${fraction}`;
}

describeInBrowser('the usage, requests, pricing and quick-start screens in Chromium', () => {
  let upstream: FakeUpstream;
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let person: SignedIn;
  let requested: string[];
  let keyId = '';
  const today = new Date().toISOString().slice(0, 10);

  const api = async <T = any>(path: string): Promise<T> => {
    const res = await person.fetch(path);
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const sidewaysScroll = (p: Page) => p.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

  beforeAll(async () => {
    const [webDir, up] = await Promise.all([buildWeb(), startFakeUpstream()]);
    upstream = up;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir, PRICE_MARGIN_PERCENT: '7.5' } });
    person = await signedIn(gw);
    await gw.app.get(LedgerService).execute(person.accountId, {
      type: 'GrantCredits',
      data: {
        grantId: 'usage-web-test',
        amount: 5_000_000n,
        reason: 'browser test',
      },
    });
    const project = (await (
      await person.fetch('/api/projects', {
        method: 'POST',
        body: { name: 'Website' },
      })
    ).json()) as { id: string };
    const key = (await (
      await person.fetch(`/api/projects/${project.id}/keys`, {
        method: 'POST',
        body: { name: 'production' },
      })
    ).json()) as { id: string; secret: string };
    keyId = key.id;
    const client = new OpenAI({
      baseURL: `${gw.url}/v1`,
      apiKey: key.secret,
      maxRetries: 0,
    });
    for (let i = 0; i < CALLS; i++)
      await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: `hello number ${i}` }],
      });
    await gw.requests(person.accountId, CALLS);

    browser = await launchBrowser();
    ({ context, page } = await signedInPage(browser, gw, person));
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: gw.url,
    });
    page.setDefaultTimeout(15_000);
    requested = watchRequests(page);
  }, 240_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  const usageReady = () => page.waitForSelector('[data-ready="usage"]');

  it('usage: the chart and the table by day, model, key and project show what the API answers', async () => {
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await usageReady();
    const from = await page.getByLabel('From', { exact: true }).inputValue();
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe(today);

    const byDay = await api(`/api/usage?from=${from}&to=${today}&group_by=day`);
    expect(byDay.data).toEqual([expect.objectContaining({ group: today, requests: CALLS })]);
    const todayRow = page.locator(`tr[data-group="${today}"]`);
    expect(await todayRow.innerText()).toContain(String(CALLS));
    expect(await todayRow.innerText()).toContain(dollars(byDay.data[0].cost));
    expect(await page.locator('[data-figure="usage-total"]').innerText()).toBe(`${dollars(byDay.data[0].cost)} for ${CALLS} requests`);
    const chart = page.locator('.chart');
    expect(await chart.getAttribute('aria-label')).toContain(dollars(byDay.data[0].cost));
    expect((await chart.locator('canvas').boundingBox())!.width).toBeGreaterThan(300);
    await expectAccessible(page, 'usage');
    await screenshot(page, 'usage-by-day');

    for (const [groupBy, label, group] of [
      ['model', 'Model', MODEL],
      ['key', 'API key', keyId],
      ['project', 'Project', 'Website'],
    ] as const) {
      await page.getByLabel('Group by').selectOption({ label });
      await page.locator(`table[data-usage-table="${groupBy}"]`).waitFor();
      await usageReady();
      const answer = await api(`/api/usage?from=${from}&to=${today}&group_by=${groupBy}`);
      expect(answer.data).toEqual([
        expect.objectContaining({
          group,
          requests: CALLS,
          cost: byDay.data[0].cost,
        }),
      ]);
      const row = page.locator(`tr[data-group="${group}"]`);
      // A key shows its name (the API's, opened), with its id beneath.
      if (groupBy === 'key') {
        expect(answer.data[0].name).toBe('production');
        expect(await row.locator('th').innerText()).toBe(`production\n${keyId}`);
      } else expect(await row.locator('th').innerText()).toBe(group);
      expect(await row.innerText()).toContain(dollars(answer.data[0].cost));
      expect(await row.innerText()).toContain(answer.data[0].inputTokens.toLocaleString('en-US'));
    }
    await screenshot(page, 'usage-by-project');
  });

  it('usage: the CSV the page downloads is the API’s CSV of the table shown', async () => {
    await page.getByLabel('Group by').selectOption({ label: 'Model' });
    await usageReady();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const file = readFileSync(await download.path(), 'utf8');
    const from = await page.getByLabel('From', { exact: true }).inputValue();
    expect(download.suggestedFilename()).toBe(`usage-by-model-${from}-to-${today}.csv`);
    const fromApi = await (await person.fetch(`/api/usage?from=${from}&to=${today}&group_by=model&format=csv`)).text();
    expect(file).toBe(fromApi);
    expect(file.split('\r\n')[1]).toMatch(new RegExp(`^${MODEL},${CALLS},`));
  });

  it('usage: a range the API refuses shows its message and code; a valid one then shows again', async () => {
    await page.getByLabel('From', { exact: true }).fill('2020-01-01');
    await page.getByRole('button', { name: 'Show' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/at most 92 .*\(validation_failed\)$/);
    await expectAccessible(page, 'usage (refused range)');
    await screenshot(page, 'usage-refused-range');

    // A range without requests: zero everywhere, and the day table says so.
    await page.getByLabel('From', { exact: true }).fill('2026-01-01');
    await page.getByLabel('To', { exact: true }).fill('2026-01-31');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('No requests in this range.').waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.locator('[data-figure="usage-total"]').innerText()).toBe('$0.00 for 0 requests');
  });

  it('requests: the log pages through every request; a receipt shows tokens, prices, price version, hold, cost and the estimated flag', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Requests' }).click();
    await page.waitForSelector('[data-ready="requests"]');
    const rows = page.locator('tr[data-request-id]');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(25);
    await page.getByRole('button', { name: 'Show older requests' }).click();
    // Polled from here: the page's CSP (no eval) refuses waitForFunction's in-page polling.
    await waitFor(async () => (await rows.count()) === CALLS, 15_000, 'every request listed');
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-request-id')));
    expect(new Set(ids).size).toBe(CALLS);
    expect(await page.getByRole('button', { name: 'Show older requests' }).count()).toBe(0);

    // The newest is paid for (the free requests went first): its cost as the API has it.
    const newest = (await api(`/api/requests?limit=1`)).data[0];
    expect(newest.freeRequest).toBe(false);
    const row = page.locator(`tr[data-request-id="${newest.id}"]`);
    expect(await row.locator('[data-cost]').innerText()).toBe(dollars(newest.cost));
    const oldest = page.locator(`tr[data-request-id="${ids[CALLS - 1]}"]`);
    expect(await oldest.locator('[data-cost]').innerText()).toBe('free');

    // Opened from the keyboard.
    const toggle = row.locator('button[aria-expanded]');
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await row.getByRole('button', { name: `Show receipt of ${newest.id}` }).focus();
    await page.keyboard.press('Enter');
    await row.getByRole('button', { name: `Hide receipt of ${newest.id}` }).waitFor();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const receipt = await api(`/api/requests/${newest.id}`);
    const shown = page.locator(`[data-receipt="${newest.id}"]`);
    await shown.waitFor();
    const field = (name: string) => shown.locator(`[data-field="${name}"]`).innerText();
    expect(await field('tokens')).toBe(`${receipt.usage.input_tokens} input, 0 cached, 0 cache write, ${receipt.usage.output_tokens} output`);
    expect(await field('price-version')).toBe(String(receipt.price_version));
    expect(await field('hold')).toBe(dollars(receipt.hold));
    expect(await field('cost')).toBe(`${dollars(receipt.cost)} (settled)`);
    expect(await field('estimated')).toMatch(receipt.estimated ? /^yes/ : /^no/);
    // The unit prices with the margin are the public price list's for that model (same version).
    const pricing = await api('/api/pricing');
    expect(pricing.priceVersion).toBe(receipt.price_version);
    const listed = pricing.models.find((m: { model: string }) => m.model === MODEL);
    expect(await field('unit-prices')).toContain(`input ${dollars(listed.input)}, cached input ${dollars(listed.cachedInput)}`);
    expect(await field('unit-prices')).toContain(`output ${dollars(listed.output)}`);
    // 7.5 % on gpt-4o-mini's $0.15 list input: the receipt carries the list rate and the margin apart.
    expect(listed.input).toBe('0.161250');
    expect(await field('unit-prices')).toMatch(/\(margin 7\.5 %\)$/);
    await expectAccessible(page, 'requests with a receipt');
    await screenshot(page, 'requests-receipt');
  });

  it('requests: a receipt that retention has deleted shows the API’s not-found message', async () => {
    const [, second] = (await api('/api/requests?limit=2')).data;
    await gw.db.pool.query('DELETE FROM request_log WHERE request_id = $1', [second.id]);
    await page
      .locator(`tr[data-request-id="${second.id}"]`)
      .getByRole('button', { name: `Show receipt of ${second.id}` })
      .click();
    const alert = page.locator(`#receipt-${second.id}`).getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/\(not_found\)$/);
  });

  it('quick start: a snippet per SDK, each pointed at the page’s own origin, with a working Copy', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Quick start' }).click();
    await page.getByRole('heading', { name: 'Quick start', level: 1 }).waitFor();
    const origin = new URL(page.url()).origin;
    expect(origin).toBe(gw.url);
    const snippet = (id: string) => page.locator(`[data-snippet="${id}"]`).innerText();
    expect(await snippet('openai')).toContain(`baseURL: '${origin}/v1'`);
    expect(await snippet('openai')).toContain("from 'openai'");
    expect(await snippet('anthropic')).toContain(`baseURL: '${origin}'`);
    expect(await snippet('anthropic')).toContain("from '@anthropic-ai/sdk'");
    expect(await snippet('gemini')).toContain(`baseUrl: '${origin}'`);
    expect(await snippet('gemini')).toContain("from '@google/genai'");
    await page
      .getByRole('button', {
        name: 'Copy the Anthropic format (@anthropic-ai/sdk) example',
      })
      .click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(await snippet('anthropic'));
    await expectAccessible(page, 'quick start');
    await screenshot(page, 'quick-start');
  });

  it('pricing: signed out, every model of GET /api/pricing at its prices, margin included', async () => {
    const pricing = (await (await fetch(`${gw.url}/api/pricing`)).json()) as PublicPrices;
    expect(pricing.models.length).toBeGreaterThan(10);
    const anonymous = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      baseURL: gw.url,
    });
    try {
      const p = await anonymous.newPage();
      p.setDefaultTimeout(15_000);
      const seen = watchRequests(p);
      await p.goto('/pricing');
      await p.waitForSelector('[data-ready="pricing"]');
      expect(await p.getByRole('heading', { name: 'Sign in to Tollgate' }).count()).toBe(0);
      expect(await p.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
      expect(await p.locator('[data-figure="price-version"]').innerText()).toContain(`Price version ${pricing.priceVersion}`);
      const rows = p.locator('tr[data-model]');
      expect(await rows.count()).toBe(pricing.models.length);
      for (const m of pricing.models) {
        const row = p.locator(`tr[data-model="${m.model}"]`);
        const rate = (name: string) => row.locator(`[data-rate="${name}"]`).innerText();
        expect([await rate('input'), await rate('cachedInput'), await rate('cacheWrite'), await rate('output')]).toEqual([
          dollars(m.input),
          dollars(m.cachedInput),
          dollars(m.cacheWrite),
          dollars(m.output),
        ]);
        if (m.longContext) expect(await row.locator('[data-long-context]').innerText()).toContain(dollars(m.longContext.input));
      }
      await expectAccessible(p, 'pricing (signed out)');
      await screenshot(p, 'pricing-signed-out');

      // Any other screen still asks to sign in.
      await p.goto('/usage');
      await p.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
      expect(seen.filter((u) => !u.startsWith(gw.url) && !u.startsWith('data:'))).toEqual([]);
    } finally {
      await anonymous.close();
    }
  });

  it('at 360 px, each screen fits without sideways scrolling and passes axe', async () => {
    const small = await signedInPage(browser, gw, person, {
      width: 360,
      height: 740,
    });
    try {
      const p = small.page;
      p.setDefaultTimeout(15_000);
      for (const [path, ready] of [
        ['/usage', 'usage'],
        ['/requests', 'requests'],
        ['/pricing', 'pricing'],
        ['/quick-start', 'quick-start'],
      ]) {
        await p.goto(path);
        await p.waitForSelector(`[data-ready="${ready}"]`);
        expect({
          path,
          sideways: Math.max(0, await sidewaysScroll(p)),
        }).toEqual({ path, sideways: 0 });
        await expectAccessible(p, `${ready} at 360 px`);
        await screenshot(p, `${ready}-360`);
      }
    } finally {
      await small.context.close();
    }
  });

  it('asked nothing of any other origin', () => {
    const foreign = requested.filter((u) => !u.startsWith(gw.url) && !u.startsWith('data:') && !u.startsWith('blob:'));
    expect(foreign).toEqual([]);
  });
});
