/**
 * Two API processes of one deployment: a receipt asked of the one that did not serve the
 * request, right after the answer, is there (not a 404 while the other is still writing it).
 */
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { openaiClient } from '../../support/proxy-formats';

describe('a receipt asked of another API process', () => {
  let fake: FakeUpstream;
  let a: Gateway;
  let b: Gateway;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    a = await startGateway({ openai: fake });
    b = await startGateway({ openai: fake, db: a.db });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });

  it('is found right after the answer, every time', async () => {
    const accountId = await a.account(10_000_000n);
    const { secret } = await a.key(accountId);
    for (let i = 0; i < 5; i++) {
      const { response } = await openaiClient(a.url, secret)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `receipt ${i}` }] })
        .withResponse();
      const id = response.headers.get('x-request-id');
      const res = await fetch(`${b.url}/v1/generations/${id}`, { headers: { authorization: `Bearer ${secret}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ id });
    }
  });

  it('an id no process served is still 404 (after the short wait)', async () => {
    const accountId = await a.account(0n);
    const { secret } = await a.key(accountId);
    const started = Date.now();
    const res = await fetch(`${b.url}/v1/generations/00000000-0000-4000-8000-000000000000`, { headers: { authorization: `Bearer ${secret}` } });
    expect(res.status).toBe(404);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
