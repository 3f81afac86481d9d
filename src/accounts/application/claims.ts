/**
 * Uniqueness that the event store itself guarantees: an email address, or a provider's
 * identity, belongs to at most one person. Each is a stream `claim-<kind>-<keyed hash>` whose
 * first `Claimed` event names the owner; claiming appends at expected version 0, so of two
 * people signing up with one address at the same instant exactly one wins and the other is
 * answered the winner. The stream holds only the keyed hash and a user id, never the value.
 * An erased person's claims are `Released`, so the address or identity may sign up again as
 * someone new.
 */
import { EventStore } from '../../platform/event-store/event-store.port';
import { decideAndAppend } from '../../platform/event-store/decide-and-append';
import { deterministicId } from '../../shared/ids';

export type ClaimKind = 'email' | 'identity';

export const CLAIM_STREAM_PREFIX = 'claim-';
export const claimStream = (kind: ClaimKind, hash: string) => `${CLAIM_STREAM_PREFIX}${kind}-${hash}`;

async function load(store: EventStore, stream: string): Promise<{ state: string | null; version: bigint }> {
  const events = await store.readStream(stream);
  // The first claim holds until its owner releases it (an erasure): then the next claim wins.
  let owner: string | null = null;
  for (const e of events) {
    if (e.type === 'Claimed' && owner === null) owner = String(e.data.userId);
    else if (e.type === 'Released' && owner === String(e.data.userId)) owner = null;
  }
  return { state: owner, version: BigInt(events.length) };
}

/** The owner of a value, or null when nobody has claimed it. */
export async function ownerOf(store: EventStore, kind: ClaimKind, hash: string): Promise<string | null> {
  return (await load(store, claimStream(kind, hash))).state;
}

/** Claims a value for `userId`; answers its owner, which is `userId` unless someone claimed it first. */
export async function claim(store: EventStore, kind: ClaimKind, hash: string, userId: string, metadata: Record<string, unknown>): Promise<string> {
  const stream = claimStream(kind, hash);
  return decideAndAppend<string | null, string>({
    store,
    stream,
    maxAttempts: 3,
    assumed: { state: null, version: 0n },
    load: () => load(store, stream),
    decide: ({ state }) =>
      state !== null
        ? { answer: state }
        : {
            append: [{ id: deterministicId(`${stream}:${userId}`), type: 'Claimed', data: { userId }, metadata }],
            appended: () => userId,
          },
  });
}

/** Gives up `userId`'s claim (an erasure); a no-op when they do not hold it. */
export async function release(store: EventStore, kind: ClaimKind, hash: string, userId: string, metadata: Record<string, unknown>): Promise<void> {
  const stream = claimStream(kind, hash);
  await decideAndAppend<string | null, void>({
    store,
    stream,
    maxAttempts: 3,
    load: () => load(store, stream),
    decide: ({ state }) =>
      state !== userId
        ? { answer: undefined }
        : {
            append: [{ id: deterministicId(`${stream}:${userId}:released`), type: 'Released', data: { userId }, metadata }],
            appended: () => undefined,
          },
  });
}
