import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { UsageError } from '../../cli/cli-errors';
import { parseOptions } from '../../cli/cli-options';
import { LedgerReadRepository, PostingRow } from '../application/ledger-read.repository';
import { ReadModels } from '../application/read-models';
import { formatCredits } from '../../shared/money';
import { instant } from './ledger-cli-options';
import { HledgerTransactions, journalHeader, openingTransaction } from './hledger-journal';

const options = z.object({
  from: instant.optional(),
  to: instant.optional(),
  format: z.enum(['csv', 'jsonl', 'hledger'], { error: 'must be csv, jsonl or hledger' }).default('csv'),
  output: z.string().trim().min(1).optional(),
});

const CSV_HEADER = 'occurred_at,event_id,event_type,account_id,ledger_account,amount,balance_after,log_position';

const csvField = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

function line(format: 'csv' | 'jsonl', r: PostingRow): string {
  const fields = {
    occurred_at: r.occurredAt.toISOString(),
    event_id: r.eventId,
    event_type: r.eventType,
    account_id: r.accountId,
    ledger_account: r.ledgerAccount,
    amount: formatCredits(r.amount),
    balance_after: formatCredits(r.balanceAfter),
    log_position: `${r.logTx}:${r.logSeq}`,
  };
  return format === 'jsonl' ? `${JSON.stringify(fields)}\n` : `${Object.values(fields).map(csvField).join(',')}\n`;
}

/**
 * `tollgate ledger export [--from] [--to] --format csv|jsonl|hledger [--output FILE]`: every
 * posting that occurred in [from, to) (by default from the first event to now), in log order,
 * as exact decimal credits; hledger adds the opening balances before `from`. Streams page by
 * page with backpressure, so any length of history exports in constant memory.
 */
@SubCommand({ name: 'export', description: 'every posting in a period, as CSV, JSON lines or an hledger journal (streamed)' })
export class LedgerExportCommand extends CommandRunner {
  constructor(
    private readonly readModels: ReadModels,
    private readonly reads: LedgerReadRepository,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const given = parseOptions(options, raw);
    const { format, output } = given;
    const to = given.to ?? new Date();
    if (given.from && given.from >= to) throw new UsageError('--from must be before --to');
    await this.readModels.bringUpToDate();
    const first = await this.reads.firstPostingAt();
    // With no postings (or none before `to`) the default window is empty: [to, to).
    const from = given.from ?? (first && first < to ? first : to);
    const out: Writable = output ? createWriteStream(output, { flags: 'wx' }) : process.stdout;
    if (output) await once(out, 'open');
    let rows = 0;
    const journal = format === 'hledger' ? new HledgerTransactions() : null;
    if (format === 'csv') await write(out, `${CSV_HEADER}\n`);
    if (journal) {
      const opening = first && first < from ? openingTransaction(from, await this.reads.balancesBefore(from)) : '';
      await write(out, journalHeader(from, to) + opening);
    }
    for await (const page of this.reads.postings(from, to)) {
      await write(out, journal ? journal.page(page) : page.map((r) => line(format as 'csv' | 'jsonl', r)).join(''));
      rows += page.length;
    }
    if (journal) await write(out, journal.end());
    if (output) {
      out.end();
      await once(out, 'finish');
      process.stderr.write(`wrote ${rows} postings to ${output}\n`);
    }
  }

  @Option({ flags: '--from <instant>', description: 'start, inclusive (ISO 8601; default the first event)' })
  parseFrom(v: string): string {
    return v;
  }

  @Option({ flags: '--to <instant>', description: 'end, exclusive (ISO 8601; default now)' })
  parseTo(v: string): string {
    return v;
  }

  @Option({ flags: '--format <csv|jsonl|hledger>', description: 'output format (default csv)' })
  parseFormat(v: string): string {
    return v;
  }

  @Option({ flags: '--output <file>', description: 'write to a new file instead of stdout' })
  parseOutput(v: string): string {
    return v;
  }
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}
