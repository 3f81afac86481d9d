/**
 * RequestAbort stands in for the AbortController a proxied request used to make for its upstream
 * tries: whatever is done to it, its listeners run (or not) exactly as an AbortSignal's would.
 */
import fc from 'fast-check';
import { RequestAbort } from '../../../../src/proxy/upstream/upstream-client';

type Op = { op: 'add'; l: number } | { op: 'remove'; l: number } | { op: 'abort'; withReason: boolean };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('add' as const), l: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('remove' as const), l: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('abort' as const), withReason: fc.boolean() }),
  ),
  { maxLength: 12 },
);

/** Runs the ops on an abort and its signal side; which listener ran when, and the final state. */
function run(seq: Op[], make: () => { abort(r?: unknown): void; signal: { aborted: boolean; reason?: unknown; addEventListener(t: 'abort', l: () => void, o?: { once?: boolean }): void; removeEventListener(t: 'abort', l: () => void): void } }) {
  const calls: string[] = [];
  const a = make();
  const listeners = [0, 1, 2, 3].map((i) => () => calls.push(`l${i}`));
  const reason = new Error('given');
  seq.forEach((o, step) => {
    calls.push(`#${step}`);
    if (o.op === 'add') a.signal.addEventListener('abort', listeners[o.l], { once: true });
    else if (o.op === 'remove') a.signal.removeEventListener('abort', listeners[o.l]);
    else a.abort(o.withReason ? reason : undefined);
  });
  const r = a.signal.reason as { name?: string } | undefined;
  return { calls, aborted: a.signal.aborted, reason: r === reason ? 'given' : r === undefined ? 'none' : r.name };
}

describe('RequestAbort (a proxied request\'s abort, without an EventTarget)', () => {
  it('runs its listeners as an AbortSignal does, for any sequence of adds, removes and aborts', () => {
    fc.assert(
      fc.property(ops, (seq) => {
        const real = run(seq, () => new AbortController());
        const light = run(seq, () => {
          const r = new RequestAbort();
          return { abort: (reason?: unknown) => r.abort(reason), signal: r };
        });
        expect(light).toEqual(real);
      }),
    );
  });

  it('aborts with an AbortError by default (what the upstream client reads as "aborted")', () => {
    const r = new RequestAbort();
    r.abort();
    expect((r.reason as Error).name).toBe('AbortError');
  });
});
