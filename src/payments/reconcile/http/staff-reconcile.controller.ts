/**
 * `POST /staff/payments/reconcile {from, to?}` (role accountant): what `tollgate payments
 * reconcile --from --to --json` does, through the same Reconciliation, answered as JSON. The
 * window is bounded (MAX_WINDOW_DAYS) because the answer waits for every source to be read
 * (Stripe lists every payment of the window); longer windows are the CLI's, which shows
 * progress. One reconciliation runs at a time on an instance: a second is 409 rather than a
 * second full pass over Stripe's API beside the first. Recorded in the staff audit trail
 * before it runs.
 */
import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { CLOCK, Clock } from '../../../platform/clock';
import { ApiError } from '../../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { instant } from '../../../ledger/cli/ledger-cli-options';
import { Reconciliation, ReconciliationReport } from '../reconciliation.service';

export const MAX_WINDOW_DAYS = 92;
const DAY_MS = 86_400_000;

const body = z.strictObject({
  from: instant.describe('start of the window: ISO 8601 with a zone (a bare date is the end of that day, UTC, as on the CLI)'),
  to: instant.optional().describe('end of the window, excluded (default: now)'),
});
const credits = z.string().describe('exact decimal string of credits');
const answer = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  sources: z.array(z.object({ source: z.string(), compared: z.number().int(), differences: z.number().int(), error: z.string().optional().describe('the source could not be read') })),
  differences: z.array(
    z.object({ source: z.enum(['stripe', 'ethereum', 'base']), kind: z.string(), reference: z.string(), detail: z.string(), outside: credits.optional(), ledger: credits.optional() }),
  ),
  matches: z.boolean().describe('every source was read and nothing differs'),
});

@ApiTags('staff')
@AccountApi()
@StaffRoles('accountant')
@Controller('staff/payments')
export class StaffReconcileController {
  private running = false;

  constructor(
    private readonly reconciliation: Reconciliation,
    private readonly audit: StaffAudit,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post('reconcile')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Compare Stripe and the chains with the ledger over [from, to) (accountant)',
    description: `What \`tollgate payments reconcile --json\` prints. At most ${MAX_WINDOW_DAYS} days; a source that cannot be read is listed with its error (then \`matches\` is false). Recorded in the audit trail before it runs.`,
  })
  @ApiBody({ schema: jsonSchema(body) })
  @ApiOkResponse({ schema: jsonSchema(answer) })
  @ApiErrors('validation_failed', 'conflict')
  async reconcile(@CurrentPrincipal() staff: Principal, @Body() raw: unknown): Promise<ReconciliationReport> {
    const b = parseWith(body, raw);
    const to = b.to ?? this.clock.now();
    if (b.from.getTime() >= to.getTime()) throw new ApiError('validation_failed', 'from: must be before to', { param: 'from' });
    if (to.getTime() - b.from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
      throw new ApiError('validation_failed', `to: the window is at most ${MAX_WINDOW_DAYS} days (use \`tollgate payments reconcile\` for longer ones)`, { param: 'to' });
    }
    if (this.running) throw new ApiError('conflict', 'a reconciliation is already running on this instance; try again when it ends');
    this.running = true;
    try {
      await this.audit.record({ actor: staff.userId, action: 'payments.reconcile', subjectUserId: null, details: { from: b.from.toISOString(), to: to.toISOString() } });
      return await this.reconciliation.run(b.from, to);
    } finally {
      this.running = false;
    }
  }
}
