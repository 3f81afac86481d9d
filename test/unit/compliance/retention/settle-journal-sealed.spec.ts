/**
 * A settle kept in the settle journal (Postgres away when the answer ended) keeps its usage as
 * sealed: the replay, maybe days later, writes the very value sealed at the time. (The line also
 * carries the request's log row, in clear as the request log itself holds it, until it is
 * written: the journal is emptied once Postgres is back, long before retention.)
 */
import { randomBytes } from 'node:crypto';
import { KeptWrite, decodeLine, encodeLine } from '../../../../src/proxy/billing/settle-journal.codec';
import { openUsage, sealUsage } from '../../../../src/compliance/retention/usage-seal';

const key = randomBytes(32);
const usage = { model: 'claude-canary-model', inputTokens: 31337, outputTokens: 4242, cachedTokens: 0, estimated: false };
const sealedUsage = sealUsage(key, '2026-12-06', 'req-1', usage);

const write: KeptWrite = {
  id: 'req-1',
  accountId: 'acct-1',
  command: { type: 'SettleHold', data: { holdId: 'req-1', amount: 12n, upstreamCost: 10n, sealedUsage } },
  row: {
    requestId: 'req-1', accountId: 'acct-1', keyId: 'k', startedAt: new Date('2026-12-06T10:00:00.123Z'), endpoint: 'openai.chat', model: 'm',
    provider: 'openai', channelId: null, stream: false, status: 200, errorCode: null, inputTokens: 3, cachedTokens: 0,
    cacheWriteTokens: 0, outputTokens: 4, estimated: false, freeRequest: false, heldMicros: 20n, costMicros: 12n,
    billing: 'settled', priceVersion: 2, unitPrices: null, latencyMs: 5, ttfbMs: null, attempts: 1,
  },
};

describe('settle journal lines with sealed usage', () => {
  it('round-trip the sealed value exactly; the command part of the line holds no usage in clear', () => {
    const line = encodeLine({ kind: 'kept', write });
    expect(line).not.toContain('claude-canary-model');
    expect(line).not.toContain('31337');
    const back = decodeLine(line.trimEnd());
    expect(back).toEqual({ kind: 'kept', write });
    const command = back?.kind === 'kept' ? back.write.command : null;
    expect(command?.type === 'SettleHold' && command.data.sealedUsage && openUsage(key, command.data.sealedUsage, 'req-1')).toEqual(usage);
  });

  it('a line whose sealed value is not a string drops it rather than passing it on', () => {
    const line = encodeLine({ kind: 'kept', write });
    const json = JSON.parse(line.slice(17)) as { kept: { command: { data: Record<string, unknown> } } };
    json.kept.command.data.sealedUsage = { not: 'a string' };
    const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const body = JSON.stringify(json);
    const forged = `${createHash('sha256').update(body).digest('hex').slice(0, 16)} ${body}`;
    const back = decodeLine(forged);
    expect(back?.kind === 'kept' && back.write.command?.type === 'SettleHold' && 'sealedUsage' in back.write.command.data).toBe(false);
  });
});
