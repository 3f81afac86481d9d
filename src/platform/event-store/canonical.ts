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
 * The keys of one set of keys, sorted, each with what precedes its value (`"k":`, and `,"k":`
 * after another). Object.keys().sort() per object was most of what canonicalJson allocated
 * (about 1 KiB for four keys: the sort's work arrays), and events come in a few shapes: the
 * order is found once per shape and looked up after, along a tree keyed by the keys in the
 * order Object.keys gives them (the same set in another order is another path, to the same
 * sorted order). What it keeps is bounded, as it may come from a client (an idempotent
 * request's body is fingerprinted with canonicalJson): past MAX_REMEMBERED keys (tree nodes and
 * remembered shapes' keys together, a few MiB at most), or for an object with a key longer than
 * MAX_SHAPE_KEY_CHARS, the keys are sorted each time, as before.
 */
interface Shape {
  keys: string[];
  first: string[];
  rest: string[];
}

interface ShapeNode {
  next: Map<string, ShapeNode>;
  shape?: Shape;
}

const MAX_REMEMBERED = 16_384;
const MAX_SHAPE_KEY_CHARS = 64;
let remembered = 0;
const shapes: ShapeNode = { next: new Map() };

function shapeFor(keys: string[]): Shape {
  const sorted = [...keys].sort();
  return { keys: sorted, first: sorted.map((k) => quote(k) + ':'), rest: sorted.map((k) => ',' + quote(k) + ':') };
}

function shapeOf(obj: object): Shape {
  const keys = Object.keys(obj);
  let node = shapes;
  for (let i = 0; i < keys.length; i++) {
    let next = node.next.get(keys[i]);
    if (next === undefined) {
      if (remembered >= MAX_REMEMBERED || keys[i].length > MAX_SHAPE_KEY_CHARS) return shapeFor(keys);
      remembered++;
      node.next.set(keys[i], (next = { next: new Map() }));
    }
    node = next;
  }
  if (node.shape) return node.shape;
  const shape = shapeFor(keys);
  if (remembered + keys.length > MAX_REMEMBERED) return shape;
  remembered += keys.length;
  return (node.shape = shape);
}

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
      return objectIn(shapeOf(obj), obj);
    }
    default:
      throw new TypeError(`cannot canonicalise a ${typeof value}`);
  }
}

/** `obj` as canonical JSON, its keys in `shape`'s (sorted) order; undefined values left out. */
function objectIn(shape: Shape, obj: Record<string, unknown>): string {
  let out = '{';
  let prefixes = shape.first;
  for (let i = 0; i < shape.keys.length; i++) {
    const v = obj[shape.keys[i]];
    if (v === undefined) continue;
    out += prefixes[i] + canonicalJson(v);
    prefixes = shape.rest;
  }
  return out + '}';
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

/** The fields of HashedFields in canonical (sorted) order, with what precedes each value. */
const HASHED = shapeFor(['id', 'streamId', 'streamVersion', 'type', 'data', 'metadata']);

/**
 * hash = sha256(prev_hash || canonical(event)), where the event is the object of the six
 * fields; written here without building that object (its fields are known, so is their order).
 */
export function chainHash(prev: Buffer, e: HashedFields): Buffer {
  const canonical = objectIn(HASHED, e as unknown as Record<string, unknown>);
  return createHash('sha256')
    .update(prev)
    .update(canonical)
    .digest();
}

/** Same stream, type and data: the test for an idempotent re-append. Metadata is not compared. */
export function samePayload(
  a: { streamId?: string; type: string; data: unknown },
  b: { streamId?: string; type: string; data: unknown },
): boolean {
  return a.streamId === b.streamId && a.type === b.type && canonicalJson(a.data) === canonicalJson(b.data);
}
