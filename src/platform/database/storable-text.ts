/**
 * Text that Postgres will store: `text` and `jsonb` refuse NUL (0x00), and a lone UTF-16
 * surrogate cannot be encoded as UTF-8 at all. Text that came from a client (a model name, say)
 * goes through here before it reaches a row, so one odd request can never make a statement
 * fail for the rows written beside it. NUL becomes U+FFFD like any other unstorable unit, and
 * the result is cut to `max` code units (never inside a surrogate pair).
 */
export function storableText(s: string, max = Infinity): string {
  let out = s.length > max ? s.slice(0, max) : s;
  if (out.length > 0 && isHighSurrogate(out.charCodeAt(out.length - 1)) && out.length < s.length) out = out.slice(0, -1);
  return UNSTORABLE.test(out) ? out.replace(UNSTORABLE_ALL, '\uFFFD') : out;
}

// NUL, a high surrogate not followed by a low one, a low surrogate not preceded by a high one.
const UNSTORABLE_SOURCE = '\\u0000|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]';
const UNSTORABLE = new RegExp(UNSTORABLE_SOURCE);
const UNSTORABLE_ALL = new RegExp(UNSTORABLE_SOURCE, 'g');

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
