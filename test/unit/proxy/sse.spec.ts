import fc from 'fast-check';
import { SseEvent, SseParser, formatSse } from '../../../src/proxy/streaming/sse';
import { ReferenceSseParser } from '../../support/sse-reference';

/** Every event both parsers give for `wire` cut at `points` (pushed as bytes or as text), end() included. */
function parseAll(parser: { push(c: Buffer | string): SseEvent[]; end(): SseEvent[] }, wire: Buffer, points: number[], asText: boolean): SseEvent[] {
  const got: SseEvent[] = [];
  let from = 0;
  for (const at of [...points, wire.length]) {
    const part = wire.subarray(from, at);
    got.push(...parser.push(asText ? part.toString('latin1') : part));
    from = at;
  }
  got.push(...parser.end());
  return got;
}

describe('SseParser', () => {
  it('reads events with names, multi-line data and comments', () => {
    const p = new SseParser();
    const got = p.push(': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n');
    expect(got).toEqual([{ event: 'message_start', data: '{"a":1}' }, { data: 'line1\nline2' }, { data: '[DONE]' }]);
  });

  it('accepts \\r\\n and \\r line ends, even when \\r\\n is split across chunks', () => {
    const p = new SseParser();
    expect(p.push('data: a\r')).toEqual([]);
    expect(p.push('\n\r\ndata: b\r\r')).toEqual([{ data: 'a' }, { data: 'b' }]);
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const bytes = Buffer.from('data: héllo €\n\n');
    const p = new SseParser();
    const got = [...p.push(bytes.subarray(0, 9)), ...p.push(bytes.subarray(9, 15)), ...p.push(bytes.subarray(15))];
    expect(got).toEqual([{ data: 'héllo €' }]);
  });

  it('returns a last event without a trailing blank line at end()', () => {
    const p = new SseParser();
    expect(p.push('data: x')).toEqual([]);
    expect(p.end()).toEqual([{ data: 'x' }]);
  });

  it('parses what formatSse writes, however the bytes are chunked', () => {
    const event = fc.record(
      { event: fc.option(fc.constantFrom('a', 'message_delta', 'ping'), { nil: undefined }), data: fc.string() },
      { requiredKeys: ['data'] },
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 6 }), fc.array(fc.nat(40), { maxLength: 8 }), (events, cuts) => {
        const wire = Buffer.from(events.map((e) => formatSse(e as SseEvent)).join(''));
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const p = new SseParser();
        const got: SseEvent[] = [];
        let from = 0;
        for (const at of [...points, wire.length]) {
          got.push(...p.push(wire.subarray(from, at)));
          from = at;
        }
        got.push(...p.end());
        const expected = events
          .map((e) => ({ ...(e.event !== undefined ? { event: e.event } : {}), data: e.data.replace(/\r\n|\r/g, '\n') }));
        expect(got).toEqual(expected);
      }),
    );
  });

  it('gives the same events as the reference parser for any text, line ends and chunking', () => {
    // Lines made of the pieces that matter: field names with and without a colon or a space,
    // comments, blank lines, every line end (\r\n split across chunks included), multi-byte text.
    const piece = fc.constantFrom('data', 'data:', 'data: ', 'data:  ', 'event', 'event:', 'event: ', 'id: 1', 'retry: 5', ':', ': ping', 'dat', 'd', 'x', ' ', '{"a":1}', 'é', '€', '\u{1F600}', ':', '[DONE]');
    const lineEnd = fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\r\n\r\n', '\r\r', '');
    const line = fc.tuple(fc.array(piece, { maxLength: 4 }), lineEnd).map(([ps, end]) => ps.join('') + end);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.array(fc.nat(200), { maxLength: 10 }), fc.boolean(), (lines, cuts, asText) => {
        const wire = Buffer.from(lines.join(''), asText ? 'latin1' : 'utf8');
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        expect(parseAll(new SseParser(), wire, points, asText)).toEqual(parseAll(new ReferenceSseParser(), wire, points, asText));
      }),
      { numRuns: 2000 },
    );
  });
});
