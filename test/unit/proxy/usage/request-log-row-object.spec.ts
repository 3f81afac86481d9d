/**
 * The request log row as the event store inserts it beside a settle (requestLogAlongside): the
 * object written out field by field must be what filling it column by column from values() gave,
 * key order included (so its JSON, which Postgres reads, is the same text).
 */
import fc from 'fast-check';
import { COLUMNS, RequestLogRow, requestLogAlongside, rowObject, values } from '../../../../src/proxy/usage/request-log.repository';

/** The form it replaced. */
function columnByColumn(row: RequestLogRow): Record<string, unknown> {
  const v = values(row);
  const obj: Record<string, unknown> = {};
  COLUMNS.forEach((c, i) => (obj[c] = v[i]));
  obj.unit_prices = row.unitPrices;
  return obj;
}

// Text with what storableText changes (NUL, lone surrogates) and long model names.
const text = fc.oneof(fc.string(), fc.constantFrom('gpt-4o-mini', 'a\u0000b', '\uD800x', 'x\uDC00', 'm'.repeat(250)));
const orNull = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const row: fc.Arbitrary<RequestLogRow> = fc.record({
  requestId: fc.uuid(),
  accountId: fc.uuid(),
  keyId: fc.uuid(),
  startedAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01') }),
  endpoint: text,
  model: text,
  provider: orNull(text),
  channelId: orNull(fc.string()),
  stream: fc.boolean(),
  status: fc.integer({ min: 100, max: 599 }),
  errorCode: orNull(text),
  inputTokens: fc.nat(),
  cachedTokens: fc.nat(),
  cacheWriteTokens: fc.nat(),
  outputTokens: fc.nat(),
  estimated: fc.boolean(),
  freeRequest: fc.boolean(),
  heldMicros: fc.bigInt({ min: 0n, max: 10n ** 15n }),
  costMicros: fc.bigInt({ min: 0n, max: 10n ** 15n }),
  billing: fc.constantFrom('settled', 'voided', 'free', 'none', 'unbilled'),
  priceVersion: orNull(fc.nat()),
  unitPrices: orNull(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()))),
  latencyMs: fc.nat(),
  ttfbMs: orNull(fc.nat()),
  attempts: fc.nat({ max: 10 }),
});

describe('the request log row committed with a settle', () => {
  it('is, key for key and in order, what filling it column by column gave', () => {
    fc.assert(
      fc.property(row, (r) => {
        const now = rowObject(r);
        const before = columnByColumn(r);
        expect(Object.keys(now)).toEqual([...COLUMNS]);
        expect(now).toEqual(before);
        expect(JSON.stringify(now)).toBe(JSON.stringify(before));
      }),
      { numRuns: 500 },
    );
  });

  it('goes to the request log writer, one row', () => {
    fc.assert(
      fc.property(row, (r) => {
        const [side] = requestLogAlongside(r);
        expect(side.writer.name).toBe('request_log');
        expect(side.rows).toEqual([columnByColumn(r)]);
      }),
      { numRuns: 50 },
    );
  });
});
