/**
 * The answers the billing and settings screens read, copied from the zod schemas beside their
 * controllers (src/usage-api/http/account-reads.views.ts, src/payments/refunds/http/refund-views.ts,
 * src/payments/crypto/http/crypto.controller.ts, src/payments/codes/http/redeem.controller.ts,
 * src/auth/sessions/sessions.controller.ts, src/auth/passkeys/passkey.schemas.ts,
 * src/keys/management/management-keys.controller.ts, src/compliance/export/http/export-views.ts).
 * Amounts are exact decimal strings of credits (api/money.ts).
 */

export interface MeSettings {
  lowBalanceAlert: string | null;
}

export interface Transaction {
  id: string;
  kind: 'purchase' | 'crypto_payment' | 'grant' | 'refund' | 'adjustment' | 'receivable' | 'receivable_repaid';
  amount: string;
  reference: string;
  reason: string | null;
  occurredAt: string;
}

export interface Purchase {
  id: string;
  method: 'card' | 'crypto';
  amount: string;
  unspent: string;
  frozen: string;
  purchasedAt: string;
  refundableUntil: string;
}

export interface RefundRequest {
  id: string;
  purchaseId: string;
  method: 'card' | 'crypto';
  amount: string;
  reason: string | null;
  status: string;
  purchasedAt: string;
  requestedAt: string;
  decidedAt: string | null;
  decisionReason: string | null;
  failure: string | null;
}

/** `GET /api/billing/crypto-options`: the chains and tokens this gateway receives payments on (none: crypto payments are off). */
export interface CryptoOptions {
  chains: Array<{ name: string; chainId: number; tokens: Array<{ symbol: string; address: string }> }>;
}

export interface CryptoIntent {
  id: string;
  chain: string;
  chainId: number;
  token: string;
  tokenAddress: string;
  address: string;
  amount: string;
  expiresAt: string;
  status?: 'pending' | 'seen' | 'credited' | 'expired' | 'rejected';
  txHash?: string | null;
  confirmations?: number | null;
}

export interface Redeemed {
  amount: string;
  available: string;
}

export interface Session {
  id: string;
  device: string;
  method: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  current: boolean;
}

export interface Passkey {
  id: string;
  name: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
}

export interface ManagementKey {
  id: string;
  name: string;
  key: string;
  status: 'active' | 'revoked';
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  secret?: string;
}

export interface DataExport {
  id: string;
  status: 'queued' | 'building' | 'ready' | 'failed' | 'expired';
  progress: { rowsDone: number; rowsTotal: number | null; percent: number };
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string | null;
  sizeBytes: number | null;
  error: string | null;
  download: string;
}
