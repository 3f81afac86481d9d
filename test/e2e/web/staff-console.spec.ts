/**
 * The staff console (/console) in headless Chromium against the real API on a real database,
 * one person per role, each granted through StaffRolesService as `tollgate staff grant` does:
 * support finds a person and sees their key and request; the accountant sees the trial balance
 * as of yesterday, an account's balance, and approves a refund request (a refused decision shows
 * the API's message); compliance sees data-subject requests with their due dates (an overdue one
 * flagged) and an incident's 72-hour clock, and queues an export. A person without a role has
 * no console link and gets the API's 403 message at /console; an admin sees every section. axe-core checks each state; screenshots go to
 * test-results/screens/; the page asks no other origin for anything.
 */
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { CommandBus } from '@nestjs/cqrs';
import { UsersService } from '../../../src/accounts/application/users.service';
import { StaffAudit } from '../../../src/audit/application/staff-audit.service';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { SubjectRequestsRepository } from '../../../src/compliance/requests/application/subject-requests.repository';
import { SubjectRequestsService } from '../../../src/compliance/requests/application/subject-requests.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;
const DAY_MS = 86_400_000;

describeInBrowser('the staff console in Chromium (support, accountant, compliance, no role)', () => {
  let gw: Gateway;
  let upstream: FakeUpstream;
  let browser: Browser;
  let customer: SignedIn;
  const seen: string[] = [];

  const grant = async (role: 'support' | 'accountant' | 'compliance') => {
    const person = await signedIn(gw, uniqueEmail(role));
    await gw.app.get(StaffRolesService).grant({ who: { userId: person.userId }, role, reason: 'browser test set-up', actor: 'cli:test' });
    return person;
  };
  const json = async (res: Response): Promise<Json> => {
    const body = (await res.json()) as Json;
    if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const open = async (person: SignedIn, viewport?: { width: number; height: number }): Promise<Page> => {
    const { page } = await signedInPage(browser, gw, person, viewport);
    page.setDefaultTimeout(15_000);
    seen.push(...watchRequests(page));
    return page;
  };

  /**
   * Every sideways-scrolling table region on the page is focusable (a keyboard can scroll it) and
   * named; the one named `name` holds its table and takes the focus.
   */
  const expectNamedRegions = async (page: Page, name: string) => {
    expect(await page.locator('.table-wrap').count()).toBeGreaterThan(0);
    expect(await page.locator('.table-wrap:not([role="region"][tabindex="0"]:is([aria-label], [aria-labelledby]))').count()).toBe(0);
    const region = page.getByRole('region', { name, exact: true });
    expect(await region.getAttribute('tabindex')).toBe('0');
    expect(await region.getByRole('table').count()).toBe(1);
    await region.focus();
    expect(await page.evaluate('document.activeElement.getAttribute("aria-label")')).toBe(name);
  };

  beforeAll(async () => {
    const [webDir, up] = await Promise.all([buildWeb(), startFakeUpstream()]);
    upstream = up;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir } });
    browser = await launchBrowser();
    customer = await signedIn(gw, uniqueEmail('customer'));
  }, 180_000);
  afterAll(async () => {
    // Nothing but the gateway itself, ever.
    expect(seen.filter((u) => !u.startsWith(gw?.url ?? '') && !u.startsWith('data:'))).toEqual([]);
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('support: finds the person by email address and sees their key and their latest request', async () => {
    const project = await json(await customer.fetch('/api/projects', { method: 'POST', body: { name: 'Shop' } }));
    const key = await json(await customer.fetch(`/api/projects/${project.id}/keys`, { method: 'POST', body: { name: 'checkout-key' } }));
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a canary the console never shows' }] });
    await gw.requests(customer.accountId, 1);
    const support = await grant('support');
    const page = await open(support);
    await page.goto('/');
    await page.getByRole('link', { name: 'Staff console' }).click();
    await page.getByRole('heading', { name: 'Staff console' }).waitFor();
    // Only the support section: the others belong to roles this person does not hold.
    await page.getByRole('heading', { name: 'Support' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Accountant' }).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Compliance' }).count()).toBe(0);

    await page.getByLabel('Find a person by email address').fill(uniqueEmail('nobody'));
    await page.getByRole('button', { name: 'Find' }).click();
    await page.getByText('Nobody has this address.').waitFor();

    // By keyboard: the field, then Enter submits.
    await page.getByLabel('Find a person by email address').fill('');
    await page.getByLabel('Find a person by email address').focus();
    await page.keyboard.type(customer.email.toUpperCase());
    await page.keyboard.press('Enter');
    const keys = page.getByRole('table', { name: `Keys of ${customer.email}` });
    await keys.waitFor();
    expect(await keys.innerText()).toContain('checkout-key');
    expect(await keys.innerText()).toContain(key.key);
    expect(await keys.innerText()).not.toContain(key.secret);
    const requests = page.getByRole('table', { name: `Latest requests of ${customer.email}` });
    await requests.waitFor();
    expect(await requests.locator('tbody tr').count()).toBe(1);
    expect(await requests.innerText()).toMatch(/gpt-4o-mini\s+200\b/);
    expect(await page.content()).not.toContain('canary');
    expect(await page.locator(`[data-person="${customer.userId}"]`).innerText()).toContain(customer.accountId);
    await expectNamedRegions(page, `Keys of ${customer.email}`);
    await expectNamedRegions(page, `Latest requests of ${customer.email}`);
    await expectAccessible(page, 'console (support)');
    await screenshot(page, 'console-support');

    // The role revoked while the console is open: the next search shows the API's refusal.
    await gw.app.get(StaffRolesService).revoke({ who: { userId: support.userId }, role: 'support', reason: 'browser test: left the team', actor: 'cli:test' });
    await page.getByRole('button', { name: 'Find' }).click();
    expect(await page.getByRole('alert').innerText()).toBe('this needs the role support (forbidden)');
    await page.close();
  });

  it('accountant: the trial balance as of yesterday, a balance, a refused then an approved refund, a reconcile', async () => {
    const ledger = gw.app.get(LedgerService);
    const txHash = `0x${randomBytes(32).toString('hex')}`;
    await ledger.execute(customer.accountId, { type: 'CreditCryptoPayment', data: { amount: 7_000_000n, chainId: 8453, txHash, logIndex: 0, token: 'USDC' } });
    const refund = await json(await customer.fetch('/api/billing/refund-requests', { method: 'POST', body: { purchaseId: `chain-8453-${txHash}-0`, reason: 'bought twice' } }));
    const accountant = await grant('accountant');
    const page = await open(accountant, { width: 360, height: 740 });
    await page.goto('/console');
    await page.getByRole('heading', { name: 'Accountant' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Support' }).count()).toBe(0);

    const yesterday = new Date(Date.now() - DAY_MS).toISOString().slice(0, 10);
    await page.getByLabel('As of the end of (UTC; empty for now)').first().fill(yesterday);
    await page.getByRole('button', { name: 'Show trial balance' }).click();
    const tb = page.locator('table.trial-balance');
    await tb.waitFor();
    expect(await tb.getAttribute('data-as-of')).toBe(`${yesterday}T23:59:59.999Z`);
    expect(await tb.locator('tfoot').innerText()).toContain('0.000000 (balanced)');
    await expectNamedRegions(page, 'Trial balance');
    // A date in the future: the API's refusal, as it words it.
    const tomorrow = new Date(Date.now() + 2 * DAY_MS).toISOString().slice(0, 10);
    await page.getByLabel('As of the end of (UTC; empty for now)').first().fill(tomorrow);
    await page.getByRole('button', { name: 'Show trial balance' }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    expect(await refused.innerText()).toMatch(/asOf.*future.*\(validation_failed\)/s);

    await page.getByLabel('Account id').fill(customer.accountId);
    await page.getByRole('button', { name: 'Show balance' }).click();
    expect(await page.locator(`[data-balance-of="${customer.accountId}"]`).innerText()).toContain('$7.00');

    const item = page.locator(`li[data-refund-id="${refund.id}"]`);
    await item.waitFor();
    expect(await item.innerText()).toContain('bought twice');
    // A crypto refund needs the hash of the transaction that sent the funds back: the API says so.
    await item.getByLabel(/Reason for the decision/).fill('paid twice by mistake');
    await item.getByRole('button', { name: 'Approve' }).click();
    await item.getByRole('alert').waitFor();
    expect(await item.getByRole('alert').innerText()).toContain('(refund_tx_hash)');
    await item.getByLabel('Hash of the transaction that sent it back').fill(`0x${'ab'.repeat(32)}`);
    await item.getByRole('button', { name: 'Approve' }).click();
    await page.getByText(/Refund of \$7\.00 .*: completed/).waitFor();
    await item.waitFor({ state: 'detached' });
    const mine = await json(await customer.fetch('/api/billing/refund-requests'));
    expect(mine.data.find((r: Json) => r.id === refund.id)).toMatchObject({ status: 'completed' });

    await page.getByLabel('From (ISO date-time, or a date: its end, UTC)').fill(new Date(Date.now() - 7 * DAY_MS).toISOString());
    await page.getByRole('button', { name: 'Reconcile' }).click();
    await page.locator('[data-reconciled]').waitFor({ timeout: 60_000 });
    await expectAccessible(page, 'console (accountant, 360 px)');
    await screenshot(page, 'console-accountant-360');
    // Nothing is wider than the screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await page.close();
  }, 120_000);

  it('compliance: a data-subject request with its due date, an incident with its 72-hour clock, an export queued', async () => {
    const dsr = await json(await customer.fetch('/api/me/requests', { method: 'POST', body: { kind: 'access' } }));
    // One opened 32 days ago, through the real service on a clock moved back (as the
    // subject-requests e2e test does): overdue by 2 days now.
    const late = await new SubjectRequestsService(
      gw.app.get<EventStore>(EVENT_STORE),
      { now: () => new Date(Date.now() - 32 * DAY_MS) },
      gw.app.get(CommandBus),
      gw.app.get(UsersService),
      gw.app.get(SubjectRequestsRepository),
      gw.app.get(StaffAudit),
      gw.app.get(PersonalDataVault),
      gw.app.get(LedgerService),
    ).open({ userId: customer.userId, kind: 'export', details: null, actor: 'self' });
    const compliance = await grant('compliance');
    const incident = await json(
      await compliance.fetch('/staff/incidents', {
        method: 'POST',
        body: {
          title: 'Backup bucket readable',
          nature: 'A bucket holding a backup was readable for 6 hours.',
          dataCategories: ['email'],
          peopleCategories: ['account holders'],
          approxPeople: 10,
          approxRecords: 10,
          consequences: 'Phishing.',
          measures: 'Made private.',
          contact: 'dpo@tollgate.example',
        },
      }),
    );
    const confirmed = await json(await compliance.fetch(`/staff/incidents/${incident.id}/confirm`, { method: 'POST', body: { reason: 'confirmed by security' } }));
    const page = await open(compliance);
    await page.goto('/console');
    await page.getByRole('heading', { name: 'Compliance' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Accountant' }).count()).toBe(0);

    const row = page.locator(`tr[data-request-id="${dsr.id}"]`);
    await row.waitFor();
    expect(await row.locator('[data-due]').innerText()).toBe(dsr.dueAt.slice(0, 10));
    expect(Date.parse(dsr.dueAt) - Date.parse(dsr.openedAt)).toBe(30 * DAY_MS);
    expect(await row.locator('td').first().innerText()).toBe('access');
    expect(await row.locator('[data-days-left]').innerText()).toMatch(/^(29|30)$/);
    expect(await row.getAttribute('class')).toBeNull();
    const lateRow = page.locator(`tr[data-request-id="${late.requestId}"]`);
    expect(await lateRow.getAttribute('class')).toBe('overdue');
    expect(await lateRow.locator('td').first().innerText()).toBe('export');
    expect(await lateRow.locator('[data-days-left]').innerText()).toBe('Overdue by 2 days');
    expect(await page.locator('table.subject-requests caption').innerText()).toBe('2 open, 1 overdue');
    await expectNamedRegions(page, 'Open data-subject requests');

    const clock = page.locator(`li[data-incident-id="${incident.id}"] [data-clock]`);
    await clock.waitFor();
    expect(await clock.innerText()).toMatch(/72-hour clock: deadline .*, 7[01] h \d\d min left/);
    expect(Date.parse(confirmed.confirmedAt) + 72 * 3_600_000).toBeGreaterThan(Date.now());

    await page.getByLabel('User id', { exact: true }).fill(customer.userId);
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    expect(await page.getByRole('alert').innerText()).toContain('(validation_failed)'); // no reason given
    await page.getByLabel('Reason (kept in the audit trail)').fill('access request by mail');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await page.locator('[data-export="queued"]').waitFor();
    const audit = await gw.db.pool.query("SELECT actor FROM staff_audit WHERE action = 'exports.request' AND subject_user_id = $1", [customer.userId]);
    expect(audit.rows).toEqual([{ actor: compliance.userId }]);
    await expectAccessible(page, 'console (compliance)');
    await screenshot(page, 'console-compliance');
    await page.close();
  }, 120_000);

  it('a person without a role has no console link, and /console shows the API’s 403 message', async () => {
    const page = await open(customer);
    await page.goto('/');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('link', { name: 'Projects and keys' }).waitFor();
    expect(await page.getByRole('link', { name: 'Staff console' }).count()).toBe(0);
    await page.goto('/console');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe('this needs the role accountant or support (forbidden)');
    expect(await page.getByRole('heading', { name: 'Support' }).count()).toBe(0);
    await expectAccessible(page, 'console (no role)');
    await screenshot(page, 'console-no-role');
    await page.close();
  });

  it('an admin holds every role: all three sections', async () => {
    const admin = await signedIn(gw, uniqueEmail('admin'));
    await gw.app.get(StaffRolesService).grant({ who: { userId: admin.userId }, role: 'admin', reason: 'browser test set-up', actor: 'cli:test' });
    const page = await open(admin);
    await page.goto('/console');
    for (const name of ['Support', 'Accountant', 'Compliance']) await page.getByRole('heading', { name, exact: true }).waitFor();
    await page.close();
  });
});
