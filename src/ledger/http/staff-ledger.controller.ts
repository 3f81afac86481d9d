/**
 * The accountant's figures on the staff API (role accountant): `GET /staff/ledger/trial-balance`
 * and `GET /staff/accounts/{id}/balance`, with an optional `asOf` instant. The twins of
 * `tollgate ledger trial-balance|balance --as-of`: the same parser for the instant (a bare date
 * is the end of that day, UTC; the future is refused) and the same figures, from LedgerReports.
 * Every read is recorded in the staff audit trail before its answer is sent; a balance, as the
 * read of one person's money, names its owner as the subject.
 */
import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { UsersService } from '../../accounts/application/users.service';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { CLOCK, Clock } from '../../platform/clock';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { DomainError } from '../../shared/domain-error';
import { LedgerReports, ReadModelsBehindError } from '../application/ledger-reports.service';
import { ReadModelHaltedError } from '../application/read-models';
import { pastInstant } from '../cli/ledger-cli-options';

/** How long a request waits for the read models to catch up before answering 503. */
const CATCH_UP_MS = 15_000;

const credits = z.string().describe('exact decimal string of credits (1 credit = 1,000,000 µcr), six decimals');
const trialBalanceSchema = z.object({
  asOf: z.iso.datetime().nullable().describe('null: now'),
  lines: z.array(z.object({ ledgerAccount: z.string(), balance: credits })),
  total: credits.describe('0.000000 when the books balance'),
  balanced: z.boolean(),
});
const balanceSchema = z.object({
  accountId: z.uuid(),
  asOf: z.iso.datetime().nullable().describe('null: now'),
  available: credits,
  held: credits,
  frozen: credits,
  receivable: credits.describe('owed'),
  total: credits.describe('available + held + frozen − receivable'),
});
const asOfQuery = (now: Date) => z.strictObject({ asOf: pastInstant(now).optional() });
const accountParams = z.strictObject({ id: z.uuid({ error: 'must be an account id' }) });
const AS_OF_DOC = {
  name: 'asOf',
  required: false,
  description: 'ISO 8601 instant with a zone, or a date (its end, UTC); not in the future. Absent: now.',
  schema: { type: 'string', example: '2026-03-31T23:59:59Z' },
};

@ApiTags('staff')
@AccountApi()
@StaffRoles('accountant')
@Controller('staff')
export class StaffLedgerController {
  constructor(
    private readonly reports: LedgerReports,
    private readonly users: UsersService,
    private readonly audit: StaffAudit,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('ledger/trial-balance')
  @ApiOperation({ summary: 'Every ledger account and its balance, now or as of an instant (accountant)', description: 'The figures of `tollgate ledger trial-balance --as-of`. Recorded in the audit trail.' })
  @ApiQuery(AS_OF_DOC)
  @ApiOkResponse({ schema: jsonSchema(trialBalanceSchema) })
  @ApiErrors('validation_failed', 'unavailable')
  async trialBalance(@CurrentPrincipal() staff: Principal, @Query() query: unknown): Promise<z.infer<typeof trialBalanceSchema>> {
    const { asOf } = parseWith(asOfQuery(this.clock.now()), query, 'query');
    const tb = await this.reports.trialBalance(asOf, CATCH_UP_MS).catch(unavailableWhenBehind);
    await this.audit.record({ actor: staff.userId, action: 'ledger.trial_balance', subjectUserId: null, details: { asOf: tb.asOf, balanced: tb.balanced } });
    return tb;
  }

  @Get('accounts/:id/balance')
  @ApiOperation({ summary: "An account's available, held, frozen and owed credits, now or as of an instant (accountant)", description: 'The figures of `tollgate ledger balance --account --as-of`. Recorded in the audit trail.' })
  @ApiParam({ name: 'id', description: 'account id' })
  @ApiQuery(AS_OF_DOC)
  @ApiOkResponse({ schema: jsonSchema(balanceSchema) })
  @ApiErrors('validation_failed', 'account_not_found', 'unavailable')
  async balance(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Query() query: unknown): Promise<z.infer<typeof balanceSchema>> {
    const { id } = parseWith(accountParams, params, 'query');
    const { asOf } = parseWith(asOfQuery(this.clock.now()), query, 'query');
    const owner = await this.users.findByAccount(id);
    const record = (found: boolean) =>
      this.audit.record({ actor: staff.userId, action: 'ledger.balance', subjectUserId: owner?.userId ?? null, details: { accountId: id, asOf: asOf?.toISOString() ?? null, found } });
    const b = await this.reports.balance(id, asOf, CATCH_UP_MS).catch(async (err: unknown) => {
      if (err instanceof DomainError && err.code === 'account_not_found') await record(false);
      return unavailableWhenBehind(err);
    });
    await record(true);
    return b;
  }
}

function unavailableWhenBehind(err: unknown): never {
  if (err instanceof ReadModelHaltedError || err instanceof ReadModelsBehindError) {
    throw new ApiError('unavailable', `the ledger's read models cannot answer now: ${err.message}`, { retryAfterSeconds: 5 });
  }
  throw err;
}
