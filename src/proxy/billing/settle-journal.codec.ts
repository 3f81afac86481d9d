/**
 * One line of the settle journal: `<checksum> <json>\n`, the checksum the first 16 hex digits
 * of the JSON's SHA-256, so a line torn by a crash mid-write (or damaged on disk) is found and
 * skipped rather than replayed as something else.
 *
 * What a line holds: ids, amounts (as decimal strings), usage counts and the request-log row's
 * metadata. Never content: neither the prompt nor the answer ever reach this file.
 */
import { createHash } from 'node:crypto';
import { AccountCommand } from '../../ledger/domain/account.decider';
import { UsageFigures } from '../../ledger/domain/events';
import type { RequestLogRow } from '../usage/request-log.repository';

/** The ledger writes an answer's end may need: settle the hold, void it, or give a free request back. */
export type KeptCommand = Extract<AccountCommand, { type: 'SettleHold' | 'VoidHold' | 'GrantFreeRequests' }>;

/** A write that could not be made when the answer ended: the ledger command, then the request's row. */
export interface KeptWrite {
  /** The request id: one entry per request. */
  id: string;
  accountId: string;
  command: KeptCommand | null;
  row: RequestLogRow;
}

/** Who keeps writes durably until Postgres takes them (the SettleJournal), as the request log sees it. */
export interface WriteKeeper {
  keep(writes: KeptWrite[]): Promise<void>;
}
export const WRITE_KEEPER = Symbol('WRITE_KEEPER');

export type JournalLine = { kind: 'kept'; write: KeptWrite } | { kind: 'done'; id: string };

/** A kept write as its line spells it: bigints as decimal strings, the start as an ISO date. */
interface EncodedRow extends Omit<RequestLogRow, 'startedAt' | 'heldMicros' | 'costMicros'> {
  startedAt: string;
  heldMicros: string;
  costMicros: string;
}
interface EncodedWrite {
  id: unknown;
  accountId: unknown;
  command: EncodedCommand | null;
  row: EncodedRow;
}
type EncodedCommand =
  | { type: 'SettleHold'; data: { holdId: string; amount: string; upstreamCost?: string; usage?: UsageFigures | null; sealedUsage?: string } }
  | { type: 'VoidHold'; data: { holdId: unknown; reason: unknown } }
  | { type: 'GrantFreeRequests'; data: { grantId: unknown; count: unknown } };

const checksum = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 16);

export function encodeLine(line: JournalLine): string {
  const json = JSON.stringify(line.kind === 'done' ? { done: line.id } : { kept: encodeWrite(line.write) });
  return `${checksum(json)} ${json}\n`;
}

/** The line's entry, or null when it is torn or damaged (its checksum does not match). */
export function decodeLine(text: string): JournalLine | null {
  const space = text.indexOf(' ');
  if (space !== 16) return null;
  const json = text.slice(space + 1);
  if (checksum(json) !== text.slice(0, space)) return null;
  try {
    const o = JSON.parse(json) as { done?: string; kept?: EncodedWrite };
    if (typeof o.done === 'string') return { kind: 'done', id: o.done };
    if (o.kept) return { kind: 'kept', write: decodeWrite(o.kept) };
  } catch {
    // a line whose checksum matches but whose shape does not is from another version: skipped as damaged
  }
  return null;
}

function encodeWrite(w: KeptWrite): EncodedWrite {
  return {
    id: w.id,
    accountId: w.accountId,
    command: w.command && encodeCommand(w.command),
    row: { ...w.row, startedAt: w.row.startedAt.toISOString(), heldMicros: w.row.heldMicros.toString(), costMicros: w.row.costMicros.toString() },
  };
}

function decodeWrite(o: EncodedWrite): KeptWrite {
  if (typeof o.id !== 'string' || typeof o.accountId !== 'string' || typeof o.row !== 'object') throw new Error('not a kept write');
  return {
    id: o.id,
    accountId: o.accountId,
    command: o.command ? decodeCommand(o.command) : null,
    row: { ...o.row, startedAt: new Date(o.row.startedAt), heldMicros: BigInt(o.row.heldMicros), costMicros: BigInt(o.row.costMicros) },
  };
}

function encodeCommand(c: KeptCommand): EncodedCommand {
  if (c.type !== 'SettleHold') return c;
  const { holdId, amount, upstreamCost, usage, sealedUsage } = c.data;
  return { type: c.type, data: { holdId, amount: amount.toString(), upstreamCost: upstreamCost?.toString(), usage, sealedUsage } };
}

function decodeCommand(o: EncodedCommand): KeptCommand {
  switch (o.type) {
    case 'SettleHold': {
      const d = o.data;
      return {
        type: 'SettleHold',
        data: {
          holdId: d.holdId,
          amount: BigInt(d.amount),
          ...(d.upstreamCost === undefined ? {} : { upstreamCost: BigInt(d.upstreamCost) }),
          ...(d.usage === undefined ? {} : { usage: d.usage }),
          ...(typeof d.sealedUsage === 'string' ? { sealedUsage: d.sealedUsage } : {}),
        },
      };
    }
    case 'VoidHold':
      return { type: 'VoidHold', data: { holdId: String(o.data.holdId), reason: String(o.data.reason) } };
    case 'GrantFreeRequests':
      return { type: 'GrantFreeRequests', data: { grantId: String(o.data.grantId), count: Number(o.data.count) } };
    default:
      throw new Error(`not a kept command: ${String((o as { type?: unknown }).type)}`);
  }
}
