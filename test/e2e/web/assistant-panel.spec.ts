/**
 * The assistant panel in headless Chromium against the real API, its assistant asking the fake
 * upstream (OpenAI's wire format) through the gateway: the panel opens from every signed-in
 * screen, says where the conversation goes before the first question, draws the answer as it
 * streams (a slowed stream, watched from the test), shows a tool call's lookup, sends the whole
 * conversation with the next question, stops on Stop (the upstream call is abandoned), shows the
 * API's own message for an account without credit, works at 360 px and by keyboard (Escape
 * closes, focus returns), passes axe, and writes nothing to the browser's storage.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

const MODEL = 'gpt-4o-mini';

describeInBrowser('the assistant panel in Chromium', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let requested: string[];

  /** A signed-in person whose account has `credits` µcr and no free requests. */
  async function person(credits: bigint): Promise<SignedIn> {
    const email = uniqueEmail('panel');
    const user = await gw.app.get(UsersService).registerByOperator(email, 'cli:test', 0);
    if (credits > 0n) await gw.app.get(LedgerService).execute(user.accountId, { type: 'GrantCredits', data: { grantId: 'test-funds', amount: credits, reason: 'test funds' } });
    return signedIn(gw, email);
  }

  beforeAll(async () => {
    const [webDir, upstream] = await Promise.all([buildWeb(), startFakeUpstream()]);
    fake = upstream;
    gw = await startGateway({ openai: fake, env: { WEB_DIR: webDir, ASSISTANT_MODEL: MODEL } });
    browser = await launchBrowser();
    ({ context, page } = await signedInPage(browser, gw, await person(50_000_000n)));
    page.setDefaultTimeout(15_000);
    requested = watchRequests(page);
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    // The aborted answer below may leave the page's connection open; nothing is under way now.
    (gw?.app.getHttpServer() as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
    await gw?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const panel = () => page.getByRole('dialog', { name: 'Assistant' });
  const lastAnswer = () => panel().locator('.turn.answer').last();
  const stateOf = async () => lastAnswer().getAttribute('data-state');
  const focused = () => page.evaluate<string>(`document.activeElement ? document.activeElement.tagName + ':' + document.activeElement.textContent.trim() : ''`);
  const chatCalls = () => fake.requests.filter((r) => r.path === '/v1/chat/completions');

  async function ask(question: string): Promise<void> {
    await panel().getByLabel('Your question').fill(question);
    await panel().getByLabel('Your question').press('Enter');
  }

  it('opens from every signed-in screen, says where the conversation goes before the first question, and closes with Escape', async () => {
    for (const path of ['/', '/projects', '/usage', '/requests', '/billing', '/settings', '/pricing', '/quick-start']) {
      await page.goto(path);
      await page.locator('main h1').waitFor();
      expect([path, await page.getByRole('button', { name: 'Assistant' }).count()]).toEqual([path, 1]);
    }
    await page.goto('/');
    await overviewReady(page);
    await page.getByRole('button', { name: 'Assistant' }).click();
    await panel().waitFor();
    const notice = panel().locator('#assistant-notice');
    await notice.getByText(MODEL).waitFor();
    const said = await notice.innerText();
    expect(said).toContain(`the model ${MODEL} of OpenAI`);
    expect(said).toContain('Tollgate does not store the conversation');
    expect(await panel().locator('.turn').count()).toBe(0);
    // Focus is in the question box, inside the dialog.
    expect(await focused()).toBe('TEXTAREA:');
    await expectAccessible(page, 'assistant panel');
    await screenshot(page, 'assistant-panel');

    await page.keyboard.press('Escape');
    await panel().waitFor({ state: 'hidden' });
    // The dialog's close event (where focus is given back) is dispatched as a task after it hides.
    await waitFor(async () => (await focused()) === 'BUTTON:Assistant', 5_000, 'focus back on the Assistant button');
  });

  it('streams the answer as it arrives, shows the tool it used, then sends the whole conversation with the next question', async () => {
    await page.getByRole('button', { name: 'Assistant' }).click();
    await panel().waitFor();
    // First a tool call (the balance), then an answer of 30 words, one every 120 ms.
    fake.script({ kind: 'tool-call', name: 'get_balance' }, { kind: 'slow', delayMsPerChunk: 120 });
    await ask('How much credit do I have left? [reply:30]');

    // Watched from the test: the answer's text grows while it is still streaming.
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const state = await stateOf();
        if (state === 'streaming') seen.add(await lastAnswer().locator('.text').innerText().catch(() => ''));
        return state !== 'streaming';
      },
      30_000,
      'the answer to finish',
    );
    expect(await stateOf()).toBe('done');
    const partial = [...seen].filter((t) => t !== '');
    // Several different partial texts were on screen before the end.
    expect(partial.length).toBeGreaterThanOrEqual(3);
    const final = await lastAnswer().locator('.text').innerText();
    expect(final).toMatch(/^Hello from fake-openai: \d+ words received/);
    expect(final.split(/\s+/)).toHaveLength(30);
    for (const p of partial) expect(final.startsWith(p.trimEnd())).toBe(true);
    await panel().getByText('Looked up your balance').waitFor();
    expect(await panel().getByRole('button', { name: 'Stop' }).count()).toBe(0);
    await expectAccessible(page, 'assistant panel with an answer');
    await screenshot(page, 'assistant-answer');

    // Closing and moving to another screen keeps the conversation (in memory).
    await panel().getByRole('button', { name: 'Close' }).click();
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage' }).waitFor();
    await page.getByRole('button', { name: 'Assistant' }).click();
    expect(await lastAnswer().locator('.text').innerText()).toBe(final);

    fake.reset();
    await ask('And what did I spend today?');
    await waitFor(async () => (await stateOf()) === 'done' && (await panel().locator('.turn.answer').count()) === 2, 30_000, 'the second answer');
    const [call] = chatCalls();
    const sent = (call.body as { messages: Array<{ role: string; content: string | null }> }).messages.filter((m) => m.role !== 'system');
    expect(sent).toEqual([
      { role: 'user', content: 'How much credit do I have left? [reply:30]' },
      { role: 'assistant', content: final },
      { role: 'user', content: 'And what did I spend today?' },
    ]);
  });

  it('stops on Stop: the answer so far stays, the upstream call is abandoned', async () => {
    fake.script({ kind: 'slow', delayMsPerChunk: 250 });
    await ask('Tell me a long story [reply:400]');
    await waitFor(async () => (await lastAnswer().locator('.text').count()) > 0, 15_000, 'the first words');
    await panel().getByRole('button', { name: 'Stop' }).click();
    await waitFor(async () => (await stateOf()) === 'stopped', 15_000, 'the answer to stop');
    await panel().getByText('Stopped.').waitFor();
    const words = (await lastAnswer().locator('.text').innerText()).split(/\s+/).length;
    expect(words).toBeLessThan(400);
    const [call] = chatCalls();
    await waitFor(() => call.aborted, 15_000, 'the upstream call to be abandoned');
    // Ready for the next question.
    await panel().getByRole('button', { name: 'Ask' }).waitFor();
  });

  it('sends one question for a double Enter', async () => {
    const answers = await panel().locator('.turn.answer').count();
    await panel().getByLabel('Your question').fill('Which models can I call?');
    await panel().getByLabel('Your question').press('Enter');
    await panel().getByLabel('Your question').press('Enter');
    await waitFor(async () => (await panel().locator('.turn.answer').count()) === answers + 1 && (await stateOf()) === 'done', 30_000, 'the answer');
    expect(chatCalls()).toHaveLength(1);
    expect(await panel().locator('.turn.user').last().innerText()).toContain('Which models can I call?');
  });

  it('shows the API’s own message when the account has no credit (insufficient_credits)', async () => {
    const broke = await signedInPage(browser, gw, await person(0n));
    try {
      broke.page.setDefaultTimeout(15_000);
      await broke.page.goto('/');
      await overviewReady(broke.page);
      await broke.page.getByRole('button', { name: 'Assistant' }).click();
      const dialog = broke.page.getByRole('dialog', { name: 'Assistant' });
      await dialog.getByLabel('Your question').fill('What is my balance?');
      await dialog.getByRole('button', { name: 'Ask' }).click();
      const alert = dialog.getByRole('alert');
      await alert.waitFor();
      expect(await alert.innerText()).toMatch(/credit.*\(insufficient_credits\)$/is);
      expect(await dialog.locator('.turn.answer').getAttribute('data-state')).toBe('failed');
      expect(chatCalls()).toHaveLength(0);
      await expectAccessible(broke.page, 'assistant panel with an error');
    } finally {
      await broke.context.close();
    }
  });

  it('writes nothing of the conversation to the browser: no web storage, IndexedDB, cache or readable cookie', async () => {
    expect(await panel().locator('.turn').count()).toBeGreaterThan(0); // the conversation above is on screen
    const stored = await page.evaluate<{ local: number; session: number; idb: number; caches: number; cookie: string }>(
      `(async () => ({ local: localStorage.length, session: sessionStorage.length, idb: (await indexedDB.databases()).length, caches: (await caches.keys()).length, cookie: document.cookie }))()`,
    );
    expect(stored).toEqual({ local: 0, session: 0, idb: 0, caches: 0, cookie: '' });
    // A reload forgets it.
    await page.reload();
    await page.locator('main h1').waitFor();
    await page.getByRole('button', { name: 'Assistant' }).click();
    await panel().locator('#assistant-notice').getByText(MODEL).waitFor();
    expect(await panel().locator('.turn').count()).toBe(0);
    // And every request went to this origin.
    expect(requested.filter((u) => !u.startsWith(gw.url))).toEqual([]);
    await page.keyboard.press('Escape');
  });

  it('fits a 360 px screen and works from the keyboard', async () => {
    const small = await signedInPage(browser, gw, await person(50_000_000n), { width: 360, height: 740 });
    try {
      small.page.setDefaultTimeout(15_000);
      await small.page.goto('/');
      await overviewReady(small.page);
      await small.page.getByRole('button', { name: 'Assistant' }).focus();
      await small.page.keyboard.press('Enter');
      const dialog = small.page.getByRole('dialog', { name: 'Assistant' });
      await dialog.locator('#assistant-notice').getByText(MODEL).waitFor();
      const box = (await dialog.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
      expect(await small.page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
      await small.page.keyboard.type('Which keys do I have?');
      await small.page.keyboard.press('Enter');
      await waitFor(async () => (await dialog.locator('.turn.answer').getAttribute('data-state')) === 'done', 30_000, 'the answer at 360 px');
      const ask = (await dialog.getByRole('button', { name: 'Ask' }).boundingBox())!;
      expect(ask.y + ask.height).toBeLessThanOrEqual(740);
      await expectAccessible(small.page, 'assistant panel at 360 px');
      await screenshot(small.page, 'assistant-panel-360');
    } finally {
      await small.context.close();
    }
  });
});

describeInBrowser('the assistant panel on a gateway without ASSISTANT_MODEL (Chromium)', () => {
  it('shows the API’s 503 assistant_not_configured message in place of the notice, and offers no way to ask', async () => {
    const gw = await startGateway({ env: { WEB_DIR: await buildWeb() } });
    const browser = await launchBrowser();
    try {
      const { page } = await signedInPage(browser, gw, await signedIn(gw));
      page.setDefaultTimeout(15_000);
      await page.goto('/');
      await overviewReady(page);
      await page.getByRole('button', { name: 'Assistant' }).click();
      const dialog = page.getByRole('dialog', { name: 'Assistant' });
      const alert = dialog.getByRole('alert');
      await alert.waitFor();
      expect(await alert.innerText()).toBe('the assistant is not configured on this gateway (ASSISTANT_MODEL) (assistant_not_configured)');
      expect(await dialog.getByLabel('Your question').isDisabled()).toBe(true);
      expect(await dialog.getByRole('button', { name: 'Ask' }).isDisabled()).toBe(true);
      await expectAccessible(page, 'assistant panel not configured');
    } finally {
      await browser.close();
      await gw.close();
    }
  }, 120_000);
});
