/** An erasure as the account API, the staff API and the CLI show it: ids, dates, amounts. */
import { z } from 'zod';
import { formatCredits } from '../../../shared/money';
import { Erasure } from '../domain/erasure';

export const erasureView = z.object({
  erasureId: z.uuid(),
  userId: z.uuid(),
  accountId: z.uuid(),
  status: z.enum(['started', 'completed']),
  startedAt: z.string(),
  completedAt: z.string().nullable(),
  /** Credits (6 decimals) forfeited: available credit no refund request returns. */
  forfeited: z.string(),
  /** Refund requests filed for what is still refundable; approved or declined by staff as any other. */
  refundRequests: z.array(z.object({ requestId: z.uuid(), purchaseId: z.string(), amount: z.string() })),
  revokedKeys: z.number().int(),
  /** True when the person had been erased before this call (nothing was done now). */
  alreadyErased: z.boolean(),
});
export type ErasureView = z.infer<typeof erasureView>;

export const erasureViewOf = (e: Erasure, alreadyErased: boolean): ErasureView => ({
  erasureId: e.erasureId,
  userId: e.userId,
  accountId: e.accountId,
  status: e.completedAt ? 'completed' : 'started',
  startedAt: e.startedAt,
  completedAt: e.completedAt,
  forfeited: formatCredits(e.credit?.forfeited ?? 0n),
  refundRequests: (e.credit?.refundRequests ?? []).map((r) => ({ requestId: r.requestId, purchaseId: r.paymentId, amount: formatCredits(BigInt(r.amount)) })),
  revokedKeys: (e.keysRevoked?.apiKeys.length ?? 0) + (e.keysRevoked?.managementKeys.length ?? 0),
  alreadyErased,
});
