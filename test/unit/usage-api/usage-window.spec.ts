import { MAX_USAGE_DAYS, UsageWindow, isWindowProblem, requestDays, usageWindow } from '../../../src/usage-api/domain/usage-window';

const NOW = new Date('2026-03-10T23:59:59.999Z');
const ok = (q: { from?: string; to?: string }): UsageWindow => {
  const w = usageWindow(q, NOW);
  if (isWindowProblem(w)) throw new Error(`unexpected problem: ${w.field}: ${w.message}`);
  return w;
};
const problem = (q: { from?: string; to?: string }) => {
  const w = usageWindow(q, NOW);
  if (!isWindowProblem(w)) throw new Error(`expected a problem, got ${JSON.stringify(w)}`);
  return w;
};

describe('usageWindow', () => {
  it('defaults to the last 30 UTC days, today included', () => {
    expect(ok({})).toEqual({ from: '2026-02-09', to: '2026-03-10' });
    // Just after midnight UTC the new day is today, whatever the machine's zone.
    expect(usageWindow({}, new Date('2026-03-11T00:00:00.000Z'))).toEqual({ from: '2026-02-10', to: '2026-03-11' });
  });

  it('takes both ends as given, to inclusive; a one-day window is from = to', () => {
    expect(ok({ from: '2026-01-01', to: '2026-01-31' })).toEqual({ from: '2026-01-01', to: '2026-01-31' });
    expect(ok({ from: '2026-03-10', to: '2026-03-10' })).toEqual({ from: '2026-03-10', to: '2026-03-10' });
    expect(ok({ to: '2026-01-31' })).toEqual({ from: '2026-01-02', to: '2026-01-31' });
    expect(ok({ from: '2026-03-01' })).toEqual({ from: '2026-03-01', to: '2026-03-10' });
  });

  it(`accepts exactly ${MAX_USAGE_DAYS} days and refuses one more, naming the parameter`, () => {
    expect(ok({ from: '2025-12-09', to: '2026-03-10' })).toEqual({ from: '2025-12-09', to: '2026-03-10' });
    expect(problem({ from: '2025-12-08', to: '2026-03-10' })).toMatchObject({ field: 'from', message: expect.stringContaining('93 days') });
    // With only `from` given far back, `from` is at fault; with only `to`, the default from never is.
    expect(problem({ from: '2024-01-01' }).field).toBe('from');
  });

  it('refuses from after to', () => {
    expect(problem({ from: '2026-03-02', to: '2026-03-01' })).toMatchObject({ field: 'from' });
  });

  it.each([
    ['2026-02-30'],
    ['2026-13-01'],
    ['2026-3-1'],
    ['2026-03-01T00:00:00Z'],
    ['yesterday'],
    [''],
    ['2026-03-01 '],
    ['+02026-03-01'],
    ['2026-03-01\n'],
    ['9'.repeat(10_000)],
  ])('refuses %j as a date, naming the parameter', (bad) => {
    expect(problem({ from: bad, to: '2026-03-10' }).field).toBe('from');
    expect(problem({ from: '2026-03-01', to: bad }).field).toBe('to');
  });

  it('knows leap days', () => {
    expect(ok({ from: '2028-02-29', to: '2028-02-29' })).toEqual({ from: '2028-02-29', to: '2028-02-29' });
    expect(problem({ from: '2027-02-29', to: '2027-03-01' }).field).toBe('from');
  });
});

describe('requestDays (the request log’s optional range)', () => {
  it('leaves either end open, and keeps a real date as it is', () => {
    expect(requestDays({})).toEqual({ from: null, to: null });
    expect(requestDays({ from: '2026-03-01' })).toEqual({ from: '2026-03-01', to: null });
    expect(requestDays({ to: '2028-02-29' })).toEqual({ from: null, to: '2028-02-29' });
    expect(requestDays({ from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: '2026-03-01', to: '2026-03-01' });
    // No bound on the length: the log itself keeps 90 days.
    expect(requestDays({ from: '2020-01-01', to: '2026-03-01' })).toEqual({ from: '2020-01-01', to: '2026-03-01' });
  });
  it.each([
    [{ from: '2026-02-30' }, 'from'],
    [{ to: '2026-13-01' }, 'to'],
    [{ from: '2026-3-1' }, 'from'],
    [{ to: 'today' }, 'to'],
    [{ from: '' }, 'from'],
    [{ from: '2026-03-02', to: '2026-03-01' }, 'from'],
  ])('names the wrong end of %j', (q, field) => {
    const d = requestDays(q);
    expect(isWindowProblem(d) && d.field).toBe(field);
  });
});
