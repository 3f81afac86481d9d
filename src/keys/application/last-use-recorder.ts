/**
 * When each key was last used (api_keys.last_used_at and management_keys.last_used_at, shown as
 * `lastUsedAt` by the account API), recorded from the authentication path: at most one write a
 * minute per key and instance (and the SQL skips a row written within the minute by another
 * instance), never awaited by the request, and a failure only logged once in a while: a
 * request never waits or fails for it.
 */
import { Logger } from '@nestjs/common';
import { Clock } from '../../platform/clock';

const EVERY_MS = 60_000;

export class LastUseRecorder {
  private readonly log: Logger;
  private readonly lastWrite = new Map<string, number>(); // keyId → clock ms of the last write begun
  private lastComplaint = -Infinity;

  constructor(
    /** Sets the key's last use to `at` unless its row says so within the last minute. */
    private readonly repo: { touch(keyId: string, at: Date): Promise<void> },
    private readonly clock: Clock,
    what = 'key',
    /** Most keys remembered; past it the map starts again (a few extra writes, no growth). */
    private readonly maxKeys = 100_000,
  ) {
    this.log = new Logger(`LastUse(${what})`);
  }

  /** Called on every authenticated request; returns at once. */
  used(keyId: string): void {
    const now = this.clock.now();
    const ms = now.getTime();
    const last = this.lastWrite.get(keyId);
    if (last !== undefined && ms - last < EVERY_MS) return;
    if (this.lastWrite.size >= this.maxKeys) this.lastWrite.clear();
    this.lastWrite.set(keyId, ms);
    this.repo.touch(keyId, now).catch((err: Error) => {
      this.lastWrite.delete(keyId); // try again on the next request
      if (ms - this.lastComplaint < EVERY_MS) return;
      this.lastComplaint = ms;
      this.log.warn(`could not record that a key was used: ${err.message}`);
    });
  }
}
