/**
 * The review's scenario (issue 16, part 2): an account uses its free requests, an operator
 * grants credit with the CLI (another process), and the running API lets the next request
 * through at once instead of answering 402 "0.000000 are available" for as long as it runs.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { CLI, run } from '../../support/cli-runner';
import { TEST_REDIS_URL } from '../../support/test-env';

describe('credit granted by another process', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('is spendable by the running API at once, after the free requests ran out', async () => {
    const accountId = await gw.account(0n, 2);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const ask = () => openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    await ask();
    await expect(ask()).rejects.toMatchObject({ status: 402 });

    const grant = await run(process.execPath, [CLI, 'credits', 'grant', '--account', accountId, '--amount', '0.01', '--reason', 'support'], {
      DATABASE_URL: gw.db.url,
      REDIS_URL: TEST_REDIS_URL,
    });
    expect({ code: grant.code, stderr: grant.stderr }).toEqual({ code: 0, stderr: '' });

    const r = await ask();
    expect(r.choices[0].message.content).toContain('Hello from fake-openai');
    const rows = await gw.requests(accountId, 4);
    expect(rows.map((row) => row.billing)).toEqual(['free', 'free', 'none', 'settled']);
  });
});
