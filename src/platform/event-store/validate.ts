import { NewEvent } from './event-store.port';
import { isUuid } from '../../shared/ids';


/** Rejects a malformed append before it reaches a batch (so it cannot fail anyone else's). */
export function validateAppend(streamId: string, events: NewEvent[]): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > 200 || streamId.startsWith('$')) {
    throw new TypeError(`invalid stream id: ${JSON.stringify(streamId)}`);
  }
  if (!Array.isArray(events) || events.length === 0) throw new TypeError('append needs at least one event');
  const ids = new Set<string>();
  for (const e of events) {
    if (!isUuid(e.id)) throw new TypeError(`event id must be a uuid: ${JSON.stringify(e.id)}`);
    if (ids.has(e.id.toLowerCase())) throw new TypeError(`event id ${e.id} appears twice in one append`);
    ids.add(e.id.toLowerCase());
    if (!e.type || typeof e.type !== 'string') throw new TypeError('event type must be a non-empty string');
    if (e.data === null || typeof e.data !== 'object' || Array.isArray(e.data)) {
      throw new TypeError(`event ${e.type} data must be an object`);
    }
  }
}
