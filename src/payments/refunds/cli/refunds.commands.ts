/**
 * `tollgate payments refunds list|approve|decline`: staff's refund tools, the same service as
 * the staff API. Decisions are recorded in the staff audit trail with the CLI's actor
 * (cli:<user>). A card refund goes through Stripe; a crypto one is approved with the hash of the
 * transaction that sent the funds back (--tx-hash, required for crypto, refused for card).
 * Exit 1 when the refund failed (Stripe refused it) or Stripe could not be reached.
 */
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../../cli/cli-actor';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { CommandGroup } from '../../../cli/command-group';
import { MAX_REASON_CHARS } from '../../../audit/domain/audit.events';
import { RefundRequestsService } from '../application/refund-requests.service';
import { REFUND_STATUSES, RefundRequest, RefundStatus } from '../domain/refund-request';
import { StaffRefundRequestView, staffViewOf } from '../http/refund-views';

const reason = z.string().trim().min(1, 'must not be empty: say why (it goes into the audit trail)').max(MAX_REASON_CHARS, 'is too long');
const id = z.uuid({ error: 'must be a refund request id (uuid)' });
const LIST_MAX = 1000;

const human = (r: StaffRefundRequestView) =>
  `${r.id}  ${r.status.padEnd(9)}  ${r.amount} cr  ${r.method}  ${r.purchaseId}  account ${r.accountId}  asked ${r.requestedAt}` +
  (r.stripeRefundId ? `  stripe ${r.stripeRefundId}` : '') +
  (r.txHash ? `  tx ${r.txHash}` : '') +
  (r.failure ? `  failed: ${r.failure}` : '');

@SubCommand({ name: 'list', description: 'refund requests, newest first' })
export class ListRefundsCommand extends CommandRunner {
  constructor(private readonly refunds: RefundRequestsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(
      z.object({
        status: z.enum(REFUND_STATUSES as [RefundStatus, ...RefundStatus[]], { error: `must be one of ${REFUND_STATUSES.join(', ')}` }).optional(),
        limit: z.coerce.number().int().min(1).max(LIST_MAX).default(100),
        json: z.boolean().optional(),
      }),
      raw,
    );
    const rows = await this.refunds.list({ status: o.status }, o.limit, null);
    const requests = await Promise.all(rows.slice(0, o.limit).map(async (r) => staffViewOf(r, await this.refunds.reasonOf(r))));
    printResult(o.json, requests.length === 0 ? 'no refund requests' : requests.map(human).join('\n'), { requests });
  }

  @Option({ flags: '--status <status>', description: `only these: ${REFUND_STATUSES.join(', ')}` })
  parseStatus(v: string): string {
    return v;
  }
  @Option({ flags: '--limit <n>', description: `at most this many (default 100, at most ${LIST_MAX})` })
  parseLimit(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

async function report(refunds: RefundRequestsService, r: RefundRequest, json: boolean | undefined): Promise<void> {
  const view = staffViewOf(r, await refunds.reasonOf(r));
  printResult(json, human(view), { request: view });
  if (r.status === 'failed') {
    process.stderr.write(`error: the refund failed: ${r.failure ?? 'no reason given'}\n`);
    process.exitCode = 1;
  }
}

@SubCommand({ name: 'approve', description: 'approve a refund request: Stripe refunds a card purchase; a crypto one needs --tx-hash (audited)' })
export class ApproveRefundCommand extends CommandRunner {
  constructor(private readonly refunds: RefundRequestsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(
      z.object({ id, reason, txHash: z.string().trim().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x and 64 hex digits').optional(), json: z.boolean().optional() }),
      raw,
    );
    const r = await this.refunds.approve(o.id, { actor: cliActor(), reason: o.reason, txHash: o.txHash ?? null });
    await report(this.refunds, r, o.json);
  }

  @Option({ flags: '--id <id>', description: 'the refund request', required: true })
  parseId(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--tx-hash <hash>', description: 'crypto purchases: the transaction that sent the funds back' })
  parseTxHash(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'decline', description: 'decline a refund request (audited)' })
export class DeclineRefundCommand extends CommandRunner {
  constructor(private readonly refunds: RefundRequestsService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(z.object({ id, reason, json: z.boolean().optional() }), raw);
    const r = await this.refunds.decline(o.id, { actor: cliActor(), reason: o.reason });
    await report(this.refunds, r, o.json);
  }

  @Option({ flags: '--id <id>', description: 'the refund request', required: true })
  parseId(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)', required: true })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'refunds', description: 'refund requests: list, approve, decline', subCommands: [ListRefundsCommand, ApproveRefundCommand, DeclineRefundCommand] })
export class RefundsCommand extends CommandGroup {}

