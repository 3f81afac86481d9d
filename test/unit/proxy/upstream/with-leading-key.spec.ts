/**
 * A streaming OpenAI request without stream_options goes upstream as the client's own bytes with
 * `"stream_options":{"include_usage":true},` put first (plan.ts), not parsed and serialised again:
 * whatever the client's spacing, the upstream reads the client's object plus that one key.
 */
import fc from 'fast-check';
import { withLeadingKey } from '../../../../src/proxy/upstream/plan';

const ASK = Buffer.from('"stream_options":{"include_usage":true},');
const space = fc.stringMatching(/^[ \t\n\r]{0,3}$/);

/** JSON.stringify with the client's own spacing (any indent, or none). */
const written = (value: unknown, indent: number, before: string, after: string) => Buffer.from(before + JSON.stringify(value, null, indent) + after, 'utf8');

describe('withLeadingKey (the include_usage the gateway asks for, put in the raw body)', () => {
  it('reads as the client object plus stream_options, in any spacing', () => {
    const body = fc
      .dictionary(fc.string().filter((k) => k !== 'stream_options'), fc.jsonValue(), { minKeys: 1 })
      .map((d) => JSON.parse(JSON.stringify(d)) as Record<string, unknown>); // what JSON can carry (no -0 or undefined)
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 4 }), space, space, (b, indent, before, after) => {
        const raw = written(b, indent, before, after);
        const out = withLeadingKey(raw, ASK);
        expect(out).not.toBeNull();
        expect(JSON.parse(out!.toString('utf8'))).toEqual({ ...b, stream_options: { include_usage: true } });
      }),
    );
  });

  it('keeps every byte of the client body after the inserted key', () => {
    const raw = Buffer.from(' {\n  "model": "gpt-4o",  "stream" : true, "messages":[{"role":"user","content":"é {\\"a\\":1}"}] }\n');
    const out = withLeadingKey(raw, ASK)!;
    expect(out.toString()).toBe(' {"stream_options":{"include_usage":true},\n  "model": "gpt-4o",  "stream" : true, "messages":[{"role":"user","content":"é {\\"a\\":1}"}] }\n');
  });

  it('leaves what is not a non-empty object to the caller (null)', () => {
    for (const raw of ['{}', ' { \n } ', '[1]', '"x"', '', '   ', '{']) {
      expect(withLeadingKey(Buffer.from(raw), ASK)).toBeNull();
    }
  });
});
