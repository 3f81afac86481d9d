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
  /** Only with two dimensions (`group_by=day,model`): the model or key of the day in `group`; null sums those past `top`. */
  subgroup?: string | null;
  /** Only by key (`group_by=key`, `day,key`): the key's name, '(erased)' once its person is erased; null when not known (and on the rest line). */
  name?: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: string;
}

export interface Usage {
  data: UsageLine[];
  from: string;
  to: string;
  groupBy: 'day' | 'model' | 'key' | 'project' | 'day,model' | 'day,key';
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

/** A line of `GET /api/requests` (the request log: metadata only, never content). */
export interface RequestSummary {
  id: string;
  createdAt: string;
  keyId: string;
  endpoint: string;
  model: string;
  provider: string | null;
  stream: boolean;
  status: number;
  errorCode: string | null;
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  estimated: boolean;
  freeRequest: boolean;
  cost: string;
  billing: string;
  latencyMs: number;
}

/** `GET /api/requests/{id}`: one request's receipt (the same as `GET /v1/generations/{id}`, snake_case as there). */
export interface Receipt {
  id: string;
  created_at: string;
  endpoint: string;
  model: string;
  provider: string | null;
  status: number;
  error_code: string | null;
  usage: { input_tokens: number; cached_tokens: number; cache_write_tokens: number; output_tokens: number };
  estimated: boolean;
  free_request: boolean;
  price_version: number | null;
  /** µcr per million tokens before the margin (`input`, `output`, `cachedInput`, `cacheWrite` as decimal strings), and `marginBps`. */
  unit_prices: Record<string, string | number> | null;
  hold: string;
  cost: string;
  billing: 'settled' | 'voided' | 'free' | 'none' | 'unbilled';
  latency_ms: number;
  attempts: number;
}

export interface PriceRates {
  input: string;
  output: string;
  cachedInput: string;
  cacheWrite: string;
}

/** `GET /api/pricing` (public): credits per million tokens, margin included. */
export interface PublicPrices {
  priceVersion: number;
  effectiveAt: string;
  unit: string;
  models: Array<
    PriceRates & {
      model: string;
      provider: string;
      aliases: string[];
      endpoints: string[] | null;
      contextWindow: number;
      maxOutputTokens: number;
      longContext: (PriceRates & { aboveInputTokens: number }) | null;
    }
  >;
}
