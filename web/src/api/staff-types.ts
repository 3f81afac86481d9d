/**
 * The staff API's answers as the staff console reads them: copies of the zod schemas beside each
 * staff controller in src/ (staff-users, staff-user-activity, staff-ledger, staff-refund-requests,
 * staff-reconcile, staff-subject-requests, staff-incidents, staff-exports). Money is an exact
 * decimal string of credits.
 */
import type { ApiKey } from './types';

export type StaffRole = 'admin' | 'accountant' | 'compliance' | 'support';

export interface StaffUser {
  id: string;
  accountId: string;
  email: string | null;
  displayName: string | null;
  roles: StaffRole[];
  createdAt: string;
}

export interface StaffKeys {
  userId: string;
  accountId: string;
  data: ApiKey[];
}

/** One line of a person's request log (metadata only). */
export interface Receipt {
  id: string;
  created_at: string;
  endpoint: string;
  model: string;
  status: number;
  error_code: string | null;
  usage: { input_tokens: number; cached_tokens: number; cache_write_tokens: number; output_tokens: number };
  estimated: boolean;
  free_request: boolean;
  price_version: number | null;
  hold: string;
  cost: string;
  billing: string;
}

export interface TrialBalance {
  asOf: string | null;
  lines: Array<{ ledgerAccount: string; balance: string }>;
  total: string;
  balanced: boolean;
}

export interface AccountBalance {
  accountId: string;
  asOf: string | null;
  available: string;
  held: string;
  frozen: string;
  receivable: string;
  total: string;
}

export interface StaffRefundRequest {
  id: string;
  purchaseId: string;
  method: 'card' | 'crypto';
  amount: string;
  reason: string | null;
  status: 'requested' | 'approved' | 'completed' | 'declined' | 'failed';
  requestedAt: string;
  decidedAt: string | null;
  decisionReason: string | null;
  failure: string | null;
  accountId: string;
  userId: string;
}

export interface Reconciliation {
  from: string;
  to: string;
  sources: Array<{ source: string; compared: number; differences: number; error?: string }>;
  differences: Array<{ source: string; kind: string; reference: string; detail: string; outside?: string; ledger?: string }>;
  matches: boolean;
}

export interface SubjectRequest {
  id: string;
  kind: string;
  details: string | null;
  status: 'open' | 'closed' | 'declined';
  openedAt: string;
  openedBySelf: boolean;
  dueAt: string;
  daysLeft: number | null;
  overdue: boolean;
  outcome: string | null;
  restricted: boolean;
  userId: string;
  accountId: string;
}

export interface SubjectRequestList {
  data: SubjectRequest[];
  nextCursor: string | null;
  open: number;
  overdue: number;
}

export interface IncidentRow {
  id: string;
  title: string;
  status: string;
  openedAt: string;
  confirmedAt: string | null;
  closedAt: string | null;
}

export interface IncidentStatus {
  incident: { id: string; status: 'open' | 'confirmed' | 'closed' };
  notices: { selected: number; queued: number; sent: number; failed: number; pending: number };
  clock: { confirmedAt: string | null; deadline: string | null; msLeft: number | null; unsent: number; warning: string | null; timeLeft: string | null };
}

export interface ExportJob {
  id: string;
  status: 'queued' | 'building' | 'ready' | 'failed' | 'expired';
  progress: { rowsDone: number; rowsTotal: number | null; percent: number };
  createdAt: string;
  error: string | null;
  download: string;
}
