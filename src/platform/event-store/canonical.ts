import { createHash } from 'node:crypto';

/** Printable ASCII but the quote and the backslash: JSON.stringify writes such a string as it is, in quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * JSON.stringify(s), without the call for the usual string: ids, types, keys, amounts and sealed
 * values are plain ASCII, and JSON.stringify per key and per string value was half of what
 * canonicalJson cost (it runs for every event appended: its hash).
 */
const quote = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/**
 * Deterministic JSON: object keys sorted, no whitespace, bigints as decimal strings. Used for
 * hash chains and payload equality, so it must never depend on key order or storage quirks.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return `"${value.toString()}"`;
    case 'string':
      return quote(value);
    case 'number':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      // Built by appending rather than with map/join: this runs for every event appended (its
      // hash), and the intermediate arrays were most of its cost.
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return out + ']';
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += (out.length === 1 ? '' : ',') + quote(k) + ':' + canonicalJson(v);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`cannot canonicalise a ${typeof value}`);
  }
}

export const GENESIS_HASH = Buffer.alloc(32);

export interface HashedFields {
  id: string;
  streamId: string;
  streamVersion: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
}

/** hash = sha256(prev_hash || canonical(event)) */
export function chainHash(prev: Buffer, e: HashedFields): Buffer {
  return createHash('sha256')
    .update(prev)
    .update(
      canonicalJson({
        id: e.id,
        streamId: e.streamId,
        streamVersion: e.streamVersion,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
      }),
    )
    .digest();
}

/** Same stream, type and data: the test for an idempotent re-append. Metadata is not compared. */
export function samePayload(
  a: { streamId?: string; type: string; data: unknown },
  b: { streamId?: string; type: string; data: unknown },
): boolean {
  return a.streamId === b.streamId && a.type === b.type && canonicalJson(a.data) === canonicalJson(b.data);
}
