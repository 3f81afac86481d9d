/**
 * `tollgate codes issue|list|revoke`: staff tools for redemption codes. Issuing prints the
 * codes once (they are stored only as hashes); issuing and revoking are recorded in the staff
 * audit trail.
 */
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../../cli/cli-actor';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { CommandGroup } from '../../../cli/command-group';
import { isUuid } from '../../../shared/ids';
import { MAX_CREDITS_TEXT, MAX_MICROS, MoneyFormatError, formatCredits, parseCredits } from '../../../shared/money';
import { CodesService } from '../application/codes.service';
import { MAX_CODES_PER_BATCH, PREFIX } from '../domain/codes';

const credits = z.string().transform((value, ctx) => {
  try {
    const micros = parseCredits(value);
    if (micros > 0n && micros <= MAX_MICROS) return micros;
    ctx.addIssue({ code: 'custom', message: `must be more than 0 and at most ${MAX_CREDITS_TEXT} credits, got ${JSON.stringify(value)}` });
  } catch (err) {
    if (!(err instanceof MoneyFormatError)) throw err;
    ctx.addIssue({ code: 'custom', message: `must be a number of credits with at most 6 decimals, got ${JSON.stringify(value)}` });
  }
  return z.NEVER;
});

const instant = z.string().transform((value, ctx) => {
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `must be a date or an ISO 8601 instant with a zone, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return new Date(ms);
});

const reason = z.string().trim().min(1, 'must not be empty').max(500, 'is too long');

const issueOptions = z.object({
  amount: credits,
  count: z.coerce.number().int().min(1).max(MAX_CODES_PER_BATCH),
  expires: instant.optional(),
  prefix: z.string().trim().toUpperCase().regex(PREFIX, 'must be 1 to 8 letters or digits').optional(),
  reason: reason.optional(),
  json: z.boolean().optional(),
});

@SubCommand({ name: 'issue', description: 'issue a batch of redemption codes (printed once; audited)' })
export class IssueCodesCommand extends CommandRunner {
  constructor(private readonly codes: CodesService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(issueOptions, raw);
    const { batchId, codes } = await this.codes.issue({
      amount: o.amount,
      count: o.count,
      expiresAt: o.expires ?? null,
      prefix: o.prefix ?? null,
      reason: o.reason ?? null,
      actor: cliActor(),
    });
    printResult(o.json, [`batch ${batchId}: ${codes.length} codes of ${formatCredits(o.amount)} credits (shown only now)`, ...codes].join('\n'), { batchId, codes });
  }

  @Option({ flags: '--amount <credits>', description: 'credits each code gives', required: true })
  parseAmount(v: string): string {
    return v;
  }
  @Option({ flags: '--count <n>', description: `how many codes (1 to ${MAX_CODES_PER_BATCH})`, required: true })
  parseCount(v: string): string {
    return v;
  }
  @Option({ flags: '--expires <instant>', description: 'when the codes stop working (ISO 8601)' })
  parseExpires(v: string): string {
    return v;
  }
  @Option({ flags: '--prefix <p>', description: 'a readable prefix, 1 to 8 letters or digits' })
  parsePrefix(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'list', description: 'batches of redemption codes and how many were redeemed' })
export class ListCodesCommand extends CommandRunner {
  constructor(private readonly codes: CodesService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(z.object({ json: z.boolean().optional() }), raw);
    const batches = (await this.codes.list()).map((b) => ({
      batchId: b.batchId,
      amount: formatCredits(b.amount),
      count: b.count,
      redeemed: b.redeemed,
      expiresAt: b.expiresAt?.toISOString() ?? null,
      revoked: b.revoked,
      revokedCodes: b.revokedCodes,
    }));
    const human = batches.length === 0
      ? 'no batches'
      : batches.map((b) => `${b.batchId}  ${b.amount} cr  ${b.redeemed}/${b.count} redeemed  expires ${b.expiresAt ?? 'never'}${b.revoked ? '  REVOKED' : ''}${b.revokedCodes ? `  ${b.revokedCodes} codes revoked` : ''}`).join('\n');
    printResult(json, human, { batches });
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

const revokeOptions = z
  .object({
    code: z.string().trim().min(1).max(64).optional(),
    batch: z.string().trim().refine(isUuid, 'must be a batch id (uuid)').optional(),
    reason: reason.optional(),
    json: z.boolean().optional(),
  })
  .refine((o) => (o.code === undefined) !== (o.batch === undefined), { message: 'give exactly one of --code and --batch', path: ['code'] });

@SubCommand({ name: 'revoke', description: 'revoke one code or a whole batch (audited)' })
export class RevokeCodesCommand extends CommandRunner {
  constructor(private readonly codes: CodesService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(revokeOptions, raw);
    if (o.batch !== undefined) {
      await this.codes.revokeBatch(o.batch, cliActor(), o.reason ?? null);
      printResult(o.json, `batch ${o.batch} revoked`, { batchId: o.batch, revoked: true });
    } else {
      const { batchId } = await this.codes.revokeCode(o.code as string, cliActor(), o.reason ?? null);
      printResult(o.json, `code revoked (batch ${batchId})`, { batchId, revoked: true });
    }
  }

  @Option({ flags: '--code <code>', description: 'the code to revoke' })
  parseCode(v: string): string {
    return v;
  }
  @Option({ flags: '--batch <id>', description: 'the batch to revoke' })
  parseBatch(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@Command({ name: 'codes', description: 'redemption codes: issue, list, revoke', subCommands: [IssueCodesCommand, ListCodesCommand, RevokeCodesCommand] })
export class CodesCommand extends CommandGroup {}
