/**
 * The account API's answers as the dashboard reads them: a copy of the shapes documented at
 * /docs (the zod schemas beside each controller in src/ are the source). Money is an exact decimal
 * string of credits: read it with api/money.ts, never with parseFloat.
 */

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Me {
  id: string;
  email: string | null;
  displayName: string | null;
  accountId: string;
  roles: string[];
}

export interface Balance {
  available: string;
  held: string;
  frozen: string;
  receivable: string;
  freeRequests: number;
  asOf: string;
}

export interface UsageLine {
  group: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: string;
}

export interface Usage {
  data: UsageLine[];
  from: string;
  to: string;
  groupBy: 'day' | 'model' | 'key' | 'project';
}

export interface Project {
  id: string;
  name: string;
  createdAt: string;
  archivedAt: string | null;
}

export interface KeyLimits {
  models: string[] | null;
  spendCap: string | null;
  expiresAt: string | null;
  rpm: number | null;
  tpm: number | null;
}

export interface ApiKey {
  id: string;
  projectId: string | null;
  name: string;
  key: string;
  status: 'active' | 'revoked' | 'expired';
  limits: KeyLimits;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface IssuedKey extends ApiKey {
  secret?: string;
}
