/**
 * OpenHolds (an account's open holds: recent changes over a shared base) against a plain Map,
 * over random sequences long enough to fold the changes into a new base many times, with copies
 * (fork, with, without) taken along the way that must never see a later change.
 */
import fc from 'fast-check';
import { OpenHold, OpenHolds } from '../../../src/ledger/domain/open-holds';

type Step =
  | { kind: 'place'; amount: number } // a new hold id (ids are never used twice, as in the ledger)
  | { kind: 'extend'; pick: number; expiresAt: number }
  | { kind: 'resolve'; pick: number }
  | { kind: 'resolveMissing' }
  | { kind: 'fork' }
  | { kind: 'immutable'; place: boolean; pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('place' as const), amount: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), pick: fc.nat(), expiresAt: fc.nat(1000) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('resolve' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'resolveMissing' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fork' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('immutable' as const), place: fc.boolean(), pick: fc.nat() }) },
);

const hold = (amount: number, expiresAt = 0): OpenHold => ({ amount: BigInt(amount), expiresAt: new Date(expiresAt).toISOString() });

/** Everything a reader can see, Map order included. */
function seen(h: ReadonlyMap<string, OpenHold>) {
  return { size: h.size, entries: [...h], keys: [...h.keys()], values: [...h.values()] };
}

function sameAs(h: OpenHolds, model: ReadonlyMap<string, OpenHold>): void {
  expect(seen(h)).toEqual(seen(model));
  const each: Array<[string, OpenHold]> = [];
  h.forEach((v, k) => each.push([k, v]));
  expect(each).toEqual([...model]);
}

describe('OpenHolds (property)', () => {
  it('reads as a Map given the same changes would, and a copy never sees a later change', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 50, maxLength: 600, size: 'max' }), (steps) => {
        let h = OpenHolds.empty();
        const model = new Map<string, OpenHold>();
        const copies: Array<{ holds: OpenHolds; model: Map<string, OpenHold> }> = [];
        let next = 0;
        for (const s of steps) {
          const ids = [...model.keys()];
          switch (s.kind) {
            case 'place': {
              const id = `h${next++}`;
              h.set(id, hold(s.amount));
              model.set(id, hold(s.amount));
              break;
            }
            case 'extend':
              if (ids.length === 0) break;
              h.set(ids[s.pick % ids.length], hold(1, s.expiresAt));
              model.set(ids[s.pick % ids.length], hold(1, s.expiresAt));
              break;
            case 'resolve':
              if (ids.length === 0) break;
              h.delete(ids[s.pick % ids.length]);
              model.delete(ids[s.pick % ids.length]);
              break;
            case 'resolveMissing':
              h.delete('never-placed');
              break;
            case 'fork':
              // The old value is kept (as a state the ledger dropped its fold for) and must not change.
              copies.push({ holds: h, model: new Map(model) });
              h = h.fork();
              break;
            case 'immutable': {
              const before = { holds: h, model: new Map(model) };
              if (s.place || ids.length === 0) {
                const id = `h${next++}`;
                h = h.with(id, hold(7));
                model.set(id, hold(7));
              } else {
                h = h.without(ids[s.pick % ids.length]);
                model.delete(ids[s.pick % ids.length]);
              }
              copies.push(before);
              break;
            }
          }
          expect(h.size).toBe(model.size);
        }
        sameAs(h, model);
        for (const id of [...model.keys(), 'never-placed', `h${next}`]) {
          expect(h.get(id)).toEqual(model.get(id));
          expect(h.has(id)).toBe(model.has(id));
        }
        for (const c of copies) sameAs(c.holds, c.model);
      }),
      { numRuns: 40 },
    );
  });

  it('folds its changes into a new base, leaving a copy that shares the old one as it was', () => {
    let h = OpenHolds.empty();
    for (let i = 0; i < 500; i++) h.set(`h${i}`, hold(i));
    const shared = h.fork(); // shares h's base and recent changes
    for (let i = 0; i < 500; i++) h.delete(`h${i}`); // many folds into new bases
    expect(h.size).toBe(0);
    expect([...h]).toEqual([]);
    expect(shared.size).toBe(500);
    expect(shared.get('h499')).toEqual(hold(499));
    expect([...shared.keys()]).toEqual(Array.from({ length: 500 }, (_, i) => `h${i}`));
    h = shared.without('h0');
    expect(shared.has('h0')).toBe(true);
    expect(h.has('h0')).toBe(false);
  });
});
