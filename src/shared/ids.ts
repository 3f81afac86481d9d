import { createHash } from 'node:crypto';

// A fixed namespace for Tollgate's name-based (v5) uuids.
const NAMESPACE = Buffer.from('6f1c3a52a7e84c4d9d0b2a61f0c8e4b7', 'hex');

/**
 * A uuid v5 from a name. Event ids derive from the command's own key (payment id, hold id,
 * grant id), so a retried command produces the same event id and the store answers "exists"
 * instead of crediting twice.
 */
export function deterministicId(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid in its canonical text form (any version, either case). */
export const isUuid = (s: string): boolean => UUID.test(s);
