/** The window of a person's request log and the ledger's as-of instants, parsed as both surfaces parse them. */
import { z } from 'zod';
import { pastInstant } from '../../../src/ledger/cli/ledger-cli-options';
import { requestWindowFields, windowProblem } from '../../../src/staff/application/request-window';

const window = z.strictObject(requestWindowFields);

describe('request window', () => {
  it('a bare date is its whole UTC day: from its start, to its end', () => {
    expect(window.parse({ from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: new Date('2026-03-01T00:00:00.000Z'), to: new Date('2026-03-01T23:59:59.999Z') });
  });

  it('instants need a zone; impossible dates and other spellings are refused, naming the field', () => {
    expect(window.parse({ from: '2026-03-01T10:00:00+02:00' }).from).toEqual(new Date('2026-03-01T08:00:00.000Z'));
    for (const bad of ['2026-03-01T10:00:00', '2026-02-30', '01/03/2026', 'yesterday', '']) {
      const r = window.safeParse({ from: bad });
      expect(r.success).toBe(false);
      expect(r.error!.issues[0].path).toEqual(['from']);
    }
    expect(window.safeParse({ to: ['2026-03-01'] }).success).toBe(false);
  });

  it('an impossible day in a date-time is refused too (Date.parse would roll it into the next month)', () => {
    expect(window.safeParse({ to: '2026-02-30T00:00:00Z' }).success).toBe(false);
    expect(window.safeParse({ from: '2026-02-30T00:00:00+01:00' }).success).toBe(false);
    expect(window.safeParse({ to: '2024-02-29T00:00:00Z' }).success).toBe(true);
  });

  it('a window that ends before it starts is a problem; an empty one (from = to) is not', () => {
    expect(windowProblem(window.parse({ from: '2026-03-02', to: '2026-03-01' }))).toMatch(/after/);
    expect(windowProblem(window.parse({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }))).toBeNull();
    expect(windowProblem({})).toBeNull();
  });
});

describe('pastInstant', () => {
  const now = new Date('2026-03-15T12:00:00.000Z');
  it('accepts now and earlier; refuses later, and today as a bare date (its end is still to come)', () => {
    expect(pastInstant(now).parse('2026-03-15T12:00:00Z')).toEqual(now);
    expect(pastInstant(now).parse('2026-03-14')).toEqual(new Date('2026-03-14T23:59:59.999Z'));
    for (const later of ['2026-03-15T12:00:00.001Z', '2026-03-15', '9999-12-31']) {
      expect(pastInstant(now).safeParse(later).error?.issues[0].message).toMatch(/^is in the future/);
    }
  });
});
