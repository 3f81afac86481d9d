/**
 * canonicalJson and chainHash as they were written before the key-order cache (commit 930ef5e),
 * kept as the reference the current ones must match byte for byte: every stored event's hash
 * was computed by this form (test/unit/platform/canonical.spec.ts, bench/event-store/ledger-round.bench.ts).
 */
import { createHash } from 'node:crypto';
import type { HashedFields } from '../../src/platform/event-store/canonical';

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

const quote = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

export function referenceCanonicalJson(value: unknown): string {
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
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + referenceCanonicalJson(value[i]);
        return out + ']';
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += (out.length === 1 ? '' : ',') + quote(k) + ':' + referenceCanonicalJson(v);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`cannot canonicalise a ${typeof value}`);
  }
}

export function referenceChainHash(prev: Buffer, e: HashedFields): Buffer {
  return createHash('sha256')
    .update(prev)
    .update(
      referenceCanonicalJson({
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
