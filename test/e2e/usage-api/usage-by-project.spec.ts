/**
 * Usage by project and reads by management key, through the booted app: keys made in projects
 * through the account API, requests through the real proxy with the openai SDK, then the usage
 * report by project equal to the request log joined to the keys' projects (a project renamed
 * keeps its usage under its new name), and a management key reading what the session reads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn } from '../../support/account-client';
import { ReadModels } from '../../../src/ledger/application/read-models';
import { formatCredits } from '../../../src/shared/money';
import { AccountNames } from '../../../src/compliance/account-names';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';

type Json = Record<string, any>;

async function created(res: Response): Promise<Json> {
  const body = (await res.json()) as Json;
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

// Projects and management keys are another part of issue 19, merged beside this one: until their
// migration is in the tree, there is nothing to group by or authenticate with. Once it is, this runs.
const PROJECTS_MIGRATION = join(__dirname, '..', '..', '..', 'migrations', '010_projects_and_management_keys.sql');
const skipReason = existsSync(PROJECTS_MIGRATION) ? null : 'projects and management keys are not merged yet (no migrations/010_projects_and_management_keys.sql)';
if (skipReason) console.warn(`SKIPPED usage by project and management-key reads: ${skipReason}`);
const describeWithProjects = skipReason ? describe.skip : describe;

describeWithProjects('usage by project, and reads by management key (booted app, real proxy)', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let me: SignedIn;
  let keys: Json[] = [];
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
    me = await signedIn(gw);
    const projects = [await created(await me.fetch('/api/projects', { method: 'POST', body: { name: 'alpha' } })), await created(await me.fetch('/api/projects', { method: 'POST', body: { name: '=formula' } }))];
    // Three keys: two in alpha, one in =formula; requests 3, 2 and 1 of them.
    keys = [
      await created(await me.fetch(`/api/projects/${projects[0].id}/keys`, { method: 'POST', body: { name: 'a1' } })),
      await created(await me.fetch(`/api/projects/${projects[0].id}/keys`, { method: 'POST', body: { name: 'a2' } })),
      await created(await me.fetch(`/api/projects/${projects[1].id}/keys`, { method: 'POST', body: { name: 'f1' } })),
    ];
    let n = 0;
    for (const [k, times] of [[0, 3], [1, 2], [2, 1]] as const) {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys[k].secret as string, maxRetries: 0 });
      for (let i = 0; i < times; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: `project usage ${k} ${i}` }] });
      n += times;
    }
    await gw.requests(me.accountId, n);
    await gw.app.get(ReadModels).bringUpToDate();
    // Renamed after its requests: the report names the project as it is called now.
    const renamed = await me.fetch(`/api/projects/${projects[0].id}`, { method: 'PATCH', body: { name: 'alpha-renamed' } });
    expect(renamed.status).toBe(200);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('sums usage by project exactly as the request log joined to the keys’ projects, named as they are now', async () => {
    const res = await me.fetch(`/api/usage?group_by=project&from=${today}&to=${today}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    const { rows } = await gw.db.pool.query<{ name: string; name_owner: string | null; requests: number; input: number; output: number; cost: string }>(
      `SELECT p.name, p.name_owner, count(*)::int AS requests, sum(r.input_tokens + r.cached_tokens + r.cache_write_tokens)::int AS input,
              sum(r.output_tokens)::int AS output, sum(r.cost_micros)::text AS cost
         FROM request_log r JOIN api_keys k ON k.key_id = r.key_id::text JOIN projects p ON p.project_id = k.project_id
        WHERE r.account_id = $1 GROUP BY p.project_id, p.name, p.name_owner`,
      [me.accountId],
    );
    // Project names are stored sealed for the account holder (migration 027): opened as the API opens them.
    const names = await gw.app.get(AccountNames).openMany(rows.map((r) => ({ value: r.name, owner: r.name_owner })));
    expect(rows.every((r) => r.name_owner === me.userId)).toBe(true);
    const want = rows.map((r, i) => ({ group: names[i], requests: r.requests, inputTokens: r.input, outputTokens: r.output, cost: formatCredits(BigInt(r.cost)) }));
    expect([...(body.data as Json[])].sort((a, b) => (a.group < b.group ? -1 : 1))).toEqual(want.sort((a, b) => (a.group < b.group ? -1 : 1)));
    expect((body.data as Json[]).map((l) => [l.group, l.requests]).sort()).toEqual([['=formula', 1], ['alpha-renamed', 5]]);

    // The CSV neutralises the project a spreadsheet would run as a formula.
    const csv = await (await me.fetch(`/api/usage?group_by=project&from=${today}&to=${today}&format=csv`)).text();
    expect(csv.split('\r\n')).toContain(`'=formula,1,${want.find((w) => w.group === '=formula')!.inputTokens},${want.find((w) => w.group === '=formula')!.outputTokens},${want.find((w) => w.group === '=formula')!.cost}`);
  });

  it('lets a management key read what the session reads, and nothing of another account', async () => {
    const key = await created(await me.fetch('/api/management-keys', { method: 'POST', body: { name: 'reports' } }));
    const headers = { authorization: `Bearer ${key.secret as string}` };
    for (const path of ['/api/balance', `/api/usage?group_by=project&from=${today}&to=${today}`, '/api/requests?limit=3', '/api/transactions']) {
      const viaKey = await fetch(`${gw.url}${path}`, { headers });
      expect({ path, status: viaKey.status }).toEqual({ path, status: 200 });
      const viaSession = await me.fetch(path);
      const [a, b] = [(await viaKey.json()) as Json, (await viaSession.json()) as Json];
      expect(a).toEqual(b);
    }
    const [first] = ((await (await fetch(`${gw.url}/api/requests?limit=1`, { headers })).json()) as Json).data as Json[];
    expect((await fetch(`${gw.url}/api/requests/${first.id as string}`, { headers })).status).toBe(200);

    const stranger = await signedIn(gw);
    const theirs = await created(await stranger.fetch('/api/management-keys', { method: 'POST', body: { name: 'theirs' } }));
    const other = { authorization: `Bearer ${theirs.secret as string}` };
    expect((await fetch(`${gw.url}/api/requests/${first.id as string}`, { headers: other })).status).toBe(404);
    expect(((await (await fetch(`${gw.url}/api/usage?group_by=project`, { headers: other })).json()) as Json).data).toEqual([]);

    // A revoked management key reads nothing from its next request on.
    expect((await me.fetch(`/api/management-keys/${key.id as string}`, { method: 'DELETE' })).status).toBeLessThan(300);
    const after = await fetch(`${gw.url}/api/balance`, { headers });
    expect(after.status).toBe(401);
  });

  it('names each key in the usage by key (JSON and CSV, one dimension or two), and reads "(erased)" once its person’s key is destroyed', async () => {
    const want = Object.fromEntries(keys.map((k, i) => [k.id as string, ['a1', 'a2', 'f1'][i]]));
    const byKey = (await (await me.fetch(`/api/usage?group_by=key&from=${today}&to=${today}`)).json()) as Json;
    expect(Object.fromEntries((byKey.data as Json[]).map((l) => [l.group, l.name]))).toEqual(want);
    expect((byKey.data as Json[]).map((l) => [l.name, l.requests]).sort()).toEqual([
      ['a1', 3],
      ['a2', 2],
      ['f1', 1],
    ]);
    const csv = (await (await me.fetch(`/api/usage?group_by=key&from=${today}&to=${today}&format=csv`)).text()).split('\r\n');
    expect(csv[0]).toBe('group,name,requests,inputTokens,outputTokens,cost');
    expect(csv).toContainEqual(expect.stringMatching(new RegExp(`^${keys[0].id as string},a1,3,`)));
    const perDay = (await (await me.fetch(`/api/usage?group_by=day,key&top=2&from=${today}&to=${today}`)).json()) as Json;
    const lines = perDay.data as Json[];
    expect(lines).toHaveLength(3);
    for (const l of lines.slice(0, 2)) expect(l.name).toBe(want[l.subgroup as string]);
    expect(lines[2]).toMatchObject({ subgroup: null, name: null });
    expect(lines.reduce((n, l) => n + (l.requests as number), 0)).toBe(6);
    // No name in the clear anywhere in the rows the report reads from.
    const stored = await gw.db.pool.query<{ name: string }>('SELECT name FROM api_keys WHERE account_id = $1', [me.accountId]);
    expect(stored.rows.map((r) => r.name).filter((n) => ['a1', 'a2', 'f1'].includes(n))).toEqual([]);

    // Crypto-shredding: the holder's vault key destroyed, every key name reads as erased.
    expect(await gw.app.get(PersonalDataVault).erase(me.userId)).toBe(true);
    const after = (await (await me.fetch(`/api/usage?group_by=key&from=${today}&to=${today}`)).json()) as Json;
    expect((after.data as Json[]).map((l) => l.name)).toEqual(['(erased)', '(erased)', '(erased)']);
  });
});
