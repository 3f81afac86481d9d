/**
 * The proxy's settle is unhurried (LedgerService's header): sent after the answer's last byte,
 * on an idle account it waits a moment (LEDGER_SETTLE_JOIN_MS) for the next command, so the
 * hold of the client's next request shares its commit instead of queuing behind it. Through
 * the official SDK, two requests one after the other: the first one's HoldSettled and the
 * second one's HoldPlaced are written by one transaction. The window is long here (3 s) so
 * that the test does not depend on how quickly this machine sends the second request.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, env: { LEDGER_SETTLE_JOIN_MS: '3000' } });
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

const txOf = async (accountId: string, type: string, holdId: string): Promise<string[]> =>
  (
    await gw.db.pool.query<{ tx: string }>(`SELECT transaction_id::text AS tx FROM events WHERE stream_id = $1 AND type = $2 AND data->>'holdId' = $3`, [
      `account-${accountId}`,
      type,
      holdId,
    ])
  ).rows.map((r) => r.tx);

it("a request's settle and the next request's hold are one commit", async () => {
  const accountId = await gw.account(10_000_000n);
  const { secret } = await gw.key(accountId);
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
  const ask = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello [reply:3]' }] }).withResponse();
  const first = await ask();
  const second = await ask(); // while the first one's settle waits
  const [a, b] = [first, second].map((r) => r.response.headers.get('x-request-id')!);
  expect(first.data.choices[0].message.content).toBeTruthy();
  expect(second.data.choices[0].message.content).toBeTruthy();
  await gw.requests(accountId, 2, 15_000); // both settled, with their rows (the second after its own window)
  const [settled] = await txOf(accountId, 'HoldSettled', a);
  const [placed] = await txOf(accountId, 'HoldPlaced', b);
  expect(settled).toBeDefined();
  expect(placed).toBe(settled);
  expect(await txOf(accountId, 'HoldSettled', b)).toHaveLength(1);
}, 60_000);
