/**
 * The 'usage' behaviour: an answer in the provider's real wire format whose usage counts are
 * replaced by a given raw JSON value, as a broken or hostile provider might send them: a
 * string ('"12"'), a negative ('-1'), a fraction, '1e999' (which JSON.parse reads as
 * Infinity), or a valid but huge count. Every number inside a `usage` or `usageMetadata`
 * object is replaced, in a JSON body and in each SSE event's data; other chunks (Gemini's
 * JSON-array stream) go as they are.
 */
import { Reply } from './reply';

const USAGE_KEYS = new Set(['usage', 'usageMetadata']);
const MARK = '\u0000fake-usage\u0000';

function rewrite(json: string, raw: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return json;
  }
  const mark = (v: unknown, inUsage: boolean): unknown => {
    if (typeof v === 'number') return inUsage ? MARK : v;
    if (Array.isArray(v)) return v.map((x) => mark(x, inUsage));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mark(x, inUsage || USAGE_KEYS.has(k))]));
    }
    return v;
  };
  return JSON.stringify(mark(value, false)).split(JSON.stringify(MARK)).join(raw);
}

export function overrideUsage(reply: Reply, raw: string): Reply {
  if (reply.type === 'json') return { ...reply, body: rewrite(reply.body, raw) };
  const chunks = reply.chunks.map((chunk) =>
    chunk
      .split('\n')
      .map((line) => (line.startsWith('data: ') && line !== 'data: [DONE]' ? `data: ${rewrite(line.slice(6), raw)}` : line))
      .join('\n'),
  );
  return { ...reply, chunks };
}
