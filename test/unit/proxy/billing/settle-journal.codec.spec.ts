/** The settle journal's lines: exact round trips of amounts, and torn or damaged lines refused. */
import { KeptWrite, decodeLine, encodeLine } from '../../../../src/proxy/billing/settle-journal.codec';
import { MAX_MICROS } from '../../../../src/shared/money';

const write: KeptWrite = {
  id: 'req-1',
  accountId: 'acct-1',
  command: { type: 'SettleHold', data: { holdId: 'req-1', amount: MAX_MICROS, upstreamCost: MAX_MICROS - 1n, usage: { model: 'm', inputTokens: 3, outputTokens: 4, cachedTokens: 0, estimated: true, priceVersion: 2 } } },
  row: {
    requestId: 'req-1', accountId: 'acct-1', keyId: 'k', startedAt: new Date('2026-12-06T10:00:00.123Z'), endpoint: 'openai.chat', model: 'm',
    provider: 'openai', channelId: null, stream: true, status: 499, errorCode: 'client_disconnected', inputTokens: 3, cachedTokens: 0,
    cacheWriteTokens: 0, outputTokens: 4, estimated: true, freeRequest: false, heldMicros: MAX_MICROS, costMicros: MAX_MICROS,
    billing: 'settled', priceVersion: 2, unitPrices: { input: '1', output: '2', per: 'µcr per million tokens', marginBps: 0 }, latencyMs: 5, ttfbMs: null, attempts: 1,
  },
};

describe('settle journal lines', () => {
  it('round-trip a kept settle exactly (amounts up to the ledger bound, dates) and a done mark', () => {
    const line = encodeLine({ kind: 'kept', write });
    expect(line.endsWith('\n')).toBe(true);
    expect(decodeLine(line.slice(0, -1))).toEqual({ kind: 'kept', write });
    expect(decodeLine(encodeLine({ kind: 'done', id: 'req-1' }).trimEnd())).toEqual({ kind: 'done', id: 'req-1' });
    for (const command of [
      { type: 'VoidHold' as const, data: { holdId: 'req-1', reason: 'upstream_error' } },
      { type: 'GrantFreeRequests' as const, data: { grantId: 'returned:req-1', count: 1 } },
      null,
    ]) {
      expect(decodeLine(encodeLine({ kind: 'kept', write: { ...write, command } }).trimEnd())).toEqual({ kind: 'kept', write: { ...write, command } });
    }
  });

  it('refuse a torn line (any cut short of its end) and a line with one character changed', () => {
    const line = encodeLine({ kind: 'kept', write }).trimEnd();
    for (let cut = 0; cut < line.length; cut += 7) expect(decodeLine(line.slice(0, cut))).toBeNull();
    const i = line.indexOf('"amount"') + 11;
    const changed = line.slice(0, i) + (line[i] === '1' ? '2' : '1') + line.slice(i + 1);
    expect(changed).not.toBe(line);
    expect(decodeLine(changed)).toBeNull();
  });
});
