/**
 * The postings export as an hledger/Ledger journal, for accountants' plain-text tools: one
 * transaction per event (UTC date, event type as description, instant and event id in tags), a
 * posting per ledger account in credits to 6 decimals of one commodity, and an opening
 * transaction for the balances before the window. Stateful only across one event, so pages of
 * any export length stream through it.
 */
import { PostingRow, TrialBalanceLine } from '../application/ledger-read.repository';
import { formatCredits } from '../../shared/money';

export const HLEDGER_COMMODITY = 'CR';

/** hledger ends an account name at two spaces, a tab or a line end: those become `_` (one space stays). */
export const hledgerAccount = (ledgerAccount: string): string => ledgerAccount.replace(/[^\S ]| {2,}/g, (m) => '_'.repeat(m.length));

const amount = (micros: bigint) => `${formatCredits(micros)} ${HLEDGER_COMMODITY}`;
const posting = (account: string, micros: bigint) => `    ${hledgerAccount(account)}  ${amount(micros)}\n`;

export function journalHeader(from: Date, to: Date): string {
  return (
    `; tollgate ledger export: postings that occurred in [${from.toISOString()}, ${to.toISOString()}), amounts in credits\n` +
    `commodity 1000.000000 ${HLEDGER_COMMODITY}\n\n`
  );
}

/**
 * The balances before `from` as one transaction (empty when there are none). Accounts at zero
 * keep their posting, so the journal names the same accounts as the trial balance.
 */
export function openingTransaction(from: Date, lines: TrialBalanceLine[]): string {
  if (lines.length === 0) return '';
  const head = `${from.toISOString().slice(0, 10)} opening balances  ; at:${from.toISOString()}, opening:\n`;
  return `${head}${lines.map((l) => posting(l.ledgerAccount, l.balance)).join('')}\n`;
}

/** Turns pages of postings (in log order, one event's postings adjacent) into transactions. */
export class HledgerTransactions {
  private current: PostingRow[] = [];

  /** The transactions completed by this page; the last event is held until the next page or `end`. */
  page(rows: PostingRow[]): string {
    let out = '';
    for (const r of rows) {
      if (this.current.length > 0 && this.current[0].eventId !== r.eventId) out += this.flush();
      this.current.push(r);
    }
    return out;
  }

  end(): string {
    return this.current.length > 0 ? this.flush() : '';
  }

  private flush(): string {
    const [first] = this.current;
    const at = first.occurredAt.toISOString();
    const head = `${at.slice(0, 10)} ${first.eventType}  ; at:${at}, event:${first.eventId}\n`;
    const body = this.current.map((r) => posting(r.ledgerAccount, r.amount)).join('');
    this.current = [];
    return `${head}${body}\n`;
  }
}
