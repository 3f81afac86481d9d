import { CircuitBreakers, CircuitTransition } from '../../../../src/proxy/channels/circuit-breaker';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

describe('CircuitBreakers (N failures in the last M requests, cooldown, one probe)', () => {
  const options = { failures: 3, window: 5, cooldownMs: 10_000 };
  let clock: ReturnType<typeof manualClock>;
  let transitions: CircuitTransition[];
  let breakers: CircuitBreakers;

  beforeEach(() => {
    clock = manualClock();
    transitions = [];
    breakers = new CircuitBreakers(options, clock, (t) => transitions.push(t));
  });

  const fail = (n: number, id = 'a') => Array.from({ length: n }, () => breakers.record(id, 'failure', 'status 503'));
  const ok = (n: number, id = 'a') => Array.from({ length: n }, () => breakers.record(id, 'ok'));

  it('opens on the Nth failure within the window, not before', () => {
    fail(2);
    expect(breakers.state('a')).toBe('closed');
    expect(breakers.admit('a')).toBe(true);
    fail(1);
    expect(breakers.state('a')).toBe('open');
    expect(breakers.admit('a')).toBe(false);
    expect(transitions).toEqual([
      expect.objectContaining({ channelId: 'a', from: 'closed', to: 'open', reason: expect.stringMatching(/3 failures in the last 3 requests \(last: status 503\)/) }),
    ]);
  });

  it('counts only the last M requests: failures that slid out of the window do not count', () => {
    fail(2);
    ok(3); // window: F F ok ok ok
    fail(1); // window: F ok ok ok F -> 2 failures
    expect(breakers.state('a')).toBe('closed');
    ok(1); // ok ok ok F ok -> 1 failure
    fail(1); // ok ok F ok F -> 2
    expect(breakers.state('a')).toBe('closed');
    fail(1); // ok F ok F F -> 3
    expect(breakers.state('a')).toBe('open');
  });

  it('stays open for the cooldown, then lets exactly one probe through; success closes it', () => {
    fail(3);
    clock.advance(9_999);
    expect(breakers.admit('a')).toBe(false);
    clock.advance(1);
    expect(breakers.admit('a')).toBe(true); // the probe
    expect(breakers.state('a')).toBe('half-open');
    expect(breakers.admit('a')).toBe(false); // nobody else while the probe is out
    expect(breakers.admit('a')).toBe(false);
    breakers.record('a', 'ok');
    expect(breakers.state('a')).toBe('closed');
    expect(breakers.admit('a')).toBe(true);
    expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    // A clean slate: two failures do not re-open it.
    fail(2);
    expect(breakers.state('a')).toBe('closed');
  });

  it('a failed probe re-opens the circuit for a whole new cooldown', () => {
    fail(3);
    clock.advance(10_000);
    expect(breakers.admit('a')).toBe(true);
    breakers.record('a', 'failure', 'timeout');
    expect(breakers.state('a')).toBe('open');
    expect(transitions[2]).toMatchObject({ from: 'half-open', to: 'open', reason: expect.stringMatching(/probe request failed \(timeout\)/) });
    clock.advance(9_000);
    expect(breakers.admit('a')).toBe(false);
    clock.advance(1_000);
    expect(breakers.admit('a')).toBe(true);
  });

  it('a probe whose caller never reports lapses after a cooldown, and the next caller gets it', () => {
    fail(3);
    clock.advance(10_000);
    expect(breakers.admit('a')).toBe(true);
    clock.advance(9_999);
    expect(breakers.admit('a')).toBe(false);
    clock.advance(1);
    expect(breakers.admit('a')).toBe(true);
    expect(breakers.admit('a')).toBe(false);
  });

  it('ignores outcomes reported while open (requests that started before it opened)', () => {
    fail(3);
    ok(5);
    expect(breakers.state('a')).toBe('open');
    expect(breakers.admit('a')).toBe(false);
  });

  it('keeps channels apart', () => {
    fail(3, 'a');
    fail(2, 'b');
    expect(breakers.state('a')).toBe('open');
    expect(breakers.state('b')).toBe('closed');
    expect(breakers.admit('b')).toBe(true);
    expect(breakers.admit('c')).toBe(true);
  });
});
