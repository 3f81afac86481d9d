/**
 * The staff console's compliance actions in headless Chromium against the real API: a
 * compliance officer records a data-subject request for a person, declines one (the API's
 * refusal of an empty reason shown first), restricts processing (the proxy then refuses the
 * person's key through the official SDK), lifts it, and closes one with its outcome; declares an
 * incident, confirms it (the 72-hour clock starts and shows its deadline), is told by the API that
 * nobody is selected yet, selects the person, queues the notice, and closes another incident.
 * Every action asks first, and the API's own state is checked after each. A support agent sees
 * none of it, and the API refuses the same writes from them (403).
 */
import OpenAI from 'openai';
import type { Browser, Locator, Page } from 'playwright-core';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

type Json = Record<string, any>;
const HOUR_MS = 3_600_000;

describeInBrowser('the staff console’s compliance actions in Chromium', () => {
  let gw: Gateway;
  let upstream: FakeUpstream;
  let browser: Browser;
  let customer: SignedIn;
  let officer: SignedIn;
  let page: Page;
  const seen: string[] = [];

  const grant = async (role: 'support' | 'compliance') => {
    const person = await signedIn(gw, uniqueEmail(role));
    await gw.app.get(StaffRolesService).grant({ who: { userId: person.userId }, role, reason: 'browser test set-up', actor: 'cli:test' });
    return person;
  };
  const json = async (res: Response): Promise<Json> => {
    const body = (await res.json()) as Json;
    if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const dsr = async (id: string) => json(await officer.fetch(`/staff/requests/${id}`));
  /** Opens an action's confirmation, and answers the panel (a form named after the action). */
  const opened = async (scope: Page | Locator, name: string): Promise<Locator> => {
    await scope.getByRole('button', { name: `${name}…`, exact: true }).click();
    const form = page.getByRole('form', { name, exact: true });
    await form.waitFor();
    return form;
  };
  const alertIn = async (form: Locator) => {
    const alert = form.getByRole('alert');
    await alert.waitFor();
    return alert.innerText();
  };

  beforeAll(async () => {
    const [webDir, up] = await Promise.all([buildWeb(), startFakeUpstream()]);
    upstream = up;
    gw = await startGateway({ openai: upstream, env: { WEB_DIR: webDir } });
    browser = await launchBrowser();
    customer = await signedIn(gw, uniqueEmail('customer'));
    officer = await grant('compliance');
    ({ page } = await signedInPage(browser, gw, officer));
    page.setDefaultTimeout(15_000);
    seen.push(...watchRequests(page));
  }, 180_000);
  afterAll(async () => {
    expect(seen.filter((u) => !u.startsWith(gw?.url ?? '') && !u.startsWith('data:'))).toEqual([]);
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  it('records a request for a person (the API’s refusal of a bad id first), then declines it after refusing an empty reason', async () => {
    await page.goto('/console');
    await page.getByRole('heading', { name: 'Compliance' }).waitFor();
    await page.getByLabel('Person (user id)').fill('not-a-user');
    await page.getByLabel('Kind of request').selectOption('correction');
    await page.getByLabel('What the person asks for (optional)').fill('my name is spelt wrong');
    let form = await opened(page, 'Record request');
    expect(await form.innerText()).toContain('Record a correction request for not-a-user? It is due 30 days from now.');
    await form.getByRole('button', { name: 'Yes, record request' }).click();
    expect(await alertIn(form)).toMatch(/^id: must be a user id \(validation_failed\)$/);

    await page.getByLabel('Person (user id)').fill(customer.userId);
    await page.getByLabel('Reason for recording (kept in the audit trail)').fill('letter of 1 December');
    await form.getByRole('button', { name: 'Yes, record request' }).click();
    await page.getByRole('status').getByText(`The correction request of ${customer.userId} was recorded.`).waitFor();
    const listed = await json(await officer.fetch('/staff/requests?status=open&limit=100'));
    const recorded = listed.data.find((r: Json) => r.userId === customer.userId && r.kind === 'correction');
    expect(recorded).toMatchObject({ openedBySelf: false, status: 'open', daysLeft: 30 });
    const row = page.locator(`tr[data-request-id="${recorded.id}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain('correction (recorded by staff)');
    expect(await row.locator('[data-due]').innerText()).toBe(recorded.dueAt.slice(0, 10));

    form = await opened(row, `Decline the correction request of ${customer.userId}`);
    // Cancel changes nothing; opened again, an empty reason is the API's refusal, shown in the panel.
    await form.getByRole('button', { name: 'Cancel' }).click();
    await form.waitFor({ state: 'detached' });
    form = await opened(row, `Decline the correction request of ${customer.userId}`);
    await form.getByRole('button', { name: 'Yes, decline' }).click();
    expect(await alertIn(form)).toMatch(/^reason: is required: say why .*\(validation_failed\)$/);
    expect((await dsr(recorded.id)).status).toBe('open');
    await form.getByLabel('Reason for declining (kept in the audit trail)').fill('the name was already right');
    await form.getByRole('button', { name: 'Yes, decline' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await dsr(recorded.id)).toMatchObject({ status: 'declined', note: 'the name was already right' });
    await expectAccessible(page, 'console (compliance actions)');
  });

  it('restricts processing (the proxy refuses the person’s key), lifts it (served again), then closes the request with its outcome', async () => {
    await gw.app.get(LedgerService).execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'console-actions', amount: 1_000_000n, reason: 'browser test' } });
    const key = await gw.key(customer.accountId);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.secret, maxRetries: 0 });
    const call = () => client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] });
    const mine = await json(await customer.fetch('/api/me/requests', { method: 'POST', body: { kind: 'restriction', details: 'stop using my data while you check it' } }));
    await page.reload();
    const row = page.locator(`tr[data-request-id="${mine.id}"]`);
    await row.waitFor();
    const what = `the restriction request of ${customer.userId}`;

    // Each panel has its own reason: words typed to decline are not the reason to restrict, and
    // a panel closed (Cancel) opens again empty.
    const decline = await opened(row, `Decline ${what}`);
    await decline.getByLabel('Reason for declining (kept in the audit trail)').fill('words meant for declining');
    let form = await opened(row, `Restrict processing for ${what}`);
    expect(await form.innerText()).toContain('The proxy refuses the account');
    const restrictReason = form.getByLabel('Reason for restricting (kept in the audit trail)');
    expect(await restrictReason.inputValue()).toBe('');
    await restrictReason.fill('accuracy contested');
    expect(await decline.getByLabel('Reason for declining (kept in the audit trail)').inputValue()).toBe('words meant for declining');
    await decline.getByRole('button', { name: 'Cancel' }).click();
    await decline.waitFor({ state: 'detached' });
    const declineAgain = await opened(row, `Decline ${what}`);
    expect(await declineAgain.getByLabel('Reason for declining (kept in the audit trail)').inputValue()).toBe('');
    await declineAgain.getByRole('button', { name: 'Cancel' }).click();
    await form.getByRole('button', { name: 'Yes, restrict' }).click();
    await row.getByText('· restricted').waitFor();
    expect(await dsr(mine.id)).toMatchObject({ restricted: true, status: 'open' });
    await expect(call()).rejects.toMatchObject({ status: 403 });

    form = await opened(row, `Lift restriction of ${what}`);
    // After success the restrict reason went with its panel: lifting starts empty.
    expect(await form.getByLabel('Reason for lifting (kept in the audit trail)').inputValue()).toBe('');
    await form.getByLabel('Reason for lifting (kept in the audit trail)').fill('accuracy checked');
    await form.getByRole('button', { name: 'Yes, lift restriction' }).click();
    await row.getByRole('button', { name: `Restrict processing for ${what}…` }).waitFor();
    expect((await dsr(mine.id)).restricted).toBe(false);
    form = await opened(row, `Restrict processing for ${what}`);
    expect(await form.getByLabel('Reason for restricting (kept in the audit trail)').inputValue()).toBe('');
    await form.getByRole('button', { name: 'Cancel' }).click();
    await expect(call()).resolves.toBeTruthy();

    form = await opened(row, `Close ${what}`);
    await form.getByLabel('Outcome').selectOption({ label: 'Fulfilled' });
    await form.getByLabel('What was done (kept in the audit trail)').fill('checked and corrected');
    await form.getByRole('button', { name: 'Yes, close' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await dsr(mine.id)).toMatchObject({ status: 'closed', outcome: 'fulfilled', note: 'checked and corrected' });
  });

  it('declares an incident, confirms it (the clock starts), is told nobody is selected, selects the person and queues the notice', async () => {
    await page.getByLabel('Title (one line)').fill('Logs copied to a public bucket');
    await page.getByLabel('What happened').fill('Request metadata logs were readable for 2 hours.');
    await page.getByRole('group', { name: 'Data concerned' }).getByLabel('usage_metadata').check();
    await page.getByLabel('About how many people').fill('12');
    await page.getByLabel('About how many records').fill('3400');
    await page.getByLabel('Likely consequences').fill('Exposure of usage patterns.');
    await page.getByLabel('Measures taken or proposed').fill('Bucket made private; keys rotated.');
    // No contact point: the API says which field is missing.
    let form = await opened(page, 'Declare incident');
    await form.getByRole('button', { name: 'Yes, declare incident' }).click();
    expect(await alertIn(form)).toMatch(/^contact: is required \(validation_failed\)$/);
    await page.getByLabel('Contact point').fill('dpo@tollgate.example');
    await form.getByRole('button', { name: 'Yes, declare incident' }).click();
    await page.getByRole('status').getByText('Incident "Logs copied to a public bucket" declared').waitFor();
    const incident = (await json(await officer.fetch('/staff/incidents'))).data.find((i: Json) => i.title === 'Logs copied to a public bucket');
    expect(incident.status).toBe('open');
    const item = page.locator(`li[data-incident-id="${incident.id}"]`);
    await item.getByText('72-hour clock: not started').waitFor();
    const title = 'incident "Logs copied to a public bucket"';

    form = await opened(item, `Confirm breach of ${title}`);
    await form.getByLabel('Reason for confirming (kept in the audit trail)').fill('confirmed by security');
    await form.getByRole('button', { name: 'Yes, confirm breach' }).click();
    await item.getByText(/72-hour clock: deadline .*, 7[01] h \d\d min left/).waitFor();
    const status = await json(await officer.fetch(`/staff/incidents/${incident.id}`));
    expect(status.incident.status).toBe('confirmed');
    expect(Date.parse(status.clock.deadline) - Date.parse(status.incident.confirmedAt)).toBe(72 * HOUR_MS);
    expect(await item.getByRole('button', { name: `Confirm breach of ${title}…` }).count()).toBe(0);

    form = await opened(item, `Notify people affected by ${title}`);
    await form.getByLabel('Reason for notifying (kept in the audit trail)').fill('notify everyone affected');
    await form.getByRole('button', { name: 'Yes, notify people' }).click();
    expect(await alertIn(form)).toMatch(/\(nobody_selected\)$/);
    await form.getByRole('button', { name: 'Cancel' }).click();

    form = await opened(item, `Select people affected by ${title}`);
    // The reason typed to notify stayed with that panel.
    expect(await form.getByLabel('Reason for selecting (kept in the audit trail)').inputValue()).toBe('');
    await form.getByLabel('Who is affected').selectOption('users');
    await form.getByLabel('User ids (separated by spaces or commas)').fill(customer.userId);
    await form.getByLabel('Reason for selecting (kept in the audit trail)').fill('their usage was in the logs');
    await form.getByRole('button', { name: 'Yes, select people' }).click();
    await page.getByRole('status').getByText(`1 person added to ${title}.`, { exact: true }).waitFor();
    await item.getByText(/Notices: 1 selected, 0 sent/).waitFor();

    form = await opened(item, `Notify people affected by ${title}`);
    expect(await form.innerText()).toContain('(1 person)? Each person gets it once.');
    await form.getByLabel('Reason for notifying (kept in the audit trail)').fill('notify everyone affected');
    await form.getByRole('button', { name: 'Yes, notify people' }).click();
    await page.getByRole('status').getByText(`1 notice queued for ${title}; the worker sends them.`, { exact: true }).waitFor();
    const after = await json(await officer.fetch(`/staff/incidents/${incident.id}`));
    expect(after.notices).toMatchObject({ selected: 1, queued: 1 });

    // Two more (one named twice, the person already selected named again): counted once each, in the plural.
    const [second, third] = await Promise.all([signedIn(gw, uniqueEmail('affected')), signedIn(gw, uniqueEmail('affected'))]);
    form = await opened(item, `Select people affected by ${title}`);
    await form.getByLabel('Who is affected').selectOption('users');
    await form.getByLabel('User ids (separated by spaces or commas)').fill(`${second.userId}, ${customer.userId} ${third.userId},${second.userId}`);
    await form.getByLabel('Reason for selecting (kept in the audit trail)').fill('found in a second log');
    await form.getByRole('button', { name: 'Yes, select people' }).click();
    await page.getByRole('status').getByText(`2 people added to ${title}.`, { exact: true }).waitFor();
    await item.getByText(/Notices: 3 selected/).waitFor();
    form = await opened(item, `Notify people affected by ${title}`);
    expect(await form.innerText()).toContain('(2 people)? Each person gets it once.');
    await form.getByLabel('Reason for notifying (kept in the audit trail)').fill('notify the two found later');
    await form.getByRole('button', { name: 'Yes, notify people' }).click();
    await page.getByRole('status').getByText(`2 notices queued for ${title}; the worker sends them.`, { exact: true }).waitFor();
    expect((await json(await officer.fetch(`/staff/incidents/${incident.id}`))).notices).toMatchObject({ selected: 3, queued: 3 });
    const audit = await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id = $1", [`incident-${incident.id}`]);
    expect(audit.rows[0].n).toBeGreaterThanOrEqual(4); // opened, confirmed, selected, notified
    await expectAccessible(page, 'console (incident steps)');
    await screenshot(page, 'console-compliance-actions');
  });

  it('closes an incident with its summary', async () => {
    const other = await json(
      await officer.fetch('/staff/incidents', {
        method: 'POST',
        body: {
          title: 'False alarm',
          nature: 'An alert that turned out to be a test.',
          dataCategories: ['email'],
          peopleCategories: ['account holders'],
          approxPeople: 0,
          approxRecords: 0,
          consequences: 'None.',
          measures: 'None needed.',
          contact: 'dpo@tollgate.example',
        },
      }),
    );
    await page.reload();
    const item = page.locator(`li[data-incident-id="${other.id}"]`);
    await item.waitFor();
    const form = await opened(item, 'Close incident "False alarm"');
    await form.getByLabel('Closing summary (kept in the audit trail)').fill('not a breach: a test alert');
    await form.getByRole('button', { name: 'Yes, close incident' }).click();
    await waitFor(async () => (await json(await officer.fetch(`/staff/incidents/${other.id}`))).incident.status === 'closed', 15_000, 'the incident closed');
    await item.getByText('closed', { exact: true }).waitFor();
    expect(await item.locator('[data-clock]').count()).toBe(0);
  });

  it('at 360 px, with a confirmation open, nothing is wider than the screen and axe finds nothing serious', async () => {
    const open = await json(await customer.fetch('/api/me/requests', { method: 'POST', body: { kind: 'export' } }));
    const small = await signedInPage(browser, gw, officer, { width: 360, height: 740 });
    try {
      const p = small.page;
      p.setDefaultTimeout(15_000);
      seen.push(...watchRequests(p));
      await p.goto('/console');
      const row = p.locator(`tr[data-request-id="${open.id as string}"]`);
      await row.waitFor();
      await row.getByRole('button', { name: `Close the export request of ${customer.userId}…`, exact: true }).click();
      await p.getByRole('form', { name: `Close the export request of ${customer.userId}`, exact: true }).waitFor();
      await p.getByRole('button', { name: 'Declare incident…', exact: true }).click();
      expect(await p.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
      await expectAccessible(p, 'console (compliance actions, 360 px)');
      await screenshot(p, 'console-compliance-actions-360');
    } finally {
      await small.context.close();
    }
  });

  it('a support agent sees no compliance section, and the API refuses them the same writes', async () => {
    const support = await grant('support');
    const { context, page: p } = await signedInPage(browser, gw, support);
    try {
      p.setDefaultTimeout(15_000);
      await p.goto('/console');
      await p.getByRole('heading', { name: 'Support' }).waitFor();
      expect(await p.getByRole('heading', { name: 'Compliance' }).count()).toBe(0);
      expect(await p.getByRole('button', { name: /^(Record request|Declare incident)…$/ }).count()).toBe(0);
    } finally {
      await context.close();
    }
    const open = (await json(await officer.fetch('/staff/requests?status=open&limit=1'))).data as Json[];
    const mine = open[0] ?? (await json(await customer.fetch('/api/me/requests', { method: 'POST', body: { kind: 'access' } })));
    for (const [path, body] of [
      [`/staff/requests/${mine.id}/decline`, { reason: 'not mine to decline' }],
      [`/staff/users/${customer.userId}/requests`, { kind: 'access' }],
      ['/staff/incidents', { title: 'x' }],
    ] as const) {
      const res = await support.fetch(path, { method: 'POST', body });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
      expect(((await res.json()) as Json).error).toEqual({ code: 'forbidden', message: 'this needs the role compliance' });
    }
    expect((await dsr(mine.id)).status).toBe('open');
  });
});
