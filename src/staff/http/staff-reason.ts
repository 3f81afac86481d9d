/**
 * The `reason` every staff write must carry (DESIGN.md: who, what, on whom, when and why), as
 * every staff route parses it; other contexts' staff routes use the same field.
 */
import { z } from 'zod';
import { MAX_REASON_CHARS } from '../../audit/domain/audit.events';

// Newlines and tabs are fine; other control characters would garble the audit listing.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

export const staffReason = z
  .string({ error: 'is required: say why (it goes into the audit trail)' })
  .trim()
  .min(1, 'is required: say why (it goes into the audit trail)')
  .max(MAX_REASON_CHARS, `must be at most ${MAX_REASON_CHARS} characters`)
  .refine((v) => !CONTROL.test(v), 'must not contain control characters');
