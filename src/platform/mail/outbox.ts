/**
 * The development outbox: with no SMTP_URL outside production, mail is written here (one JSON
 * file per message, readable by the owner only) instead of being sent, and `tollgate mail
 * outbox` lists it. Messages hold sign-in links, so they are kept 24 hours at most: older ones
 * are deleted whenever a message is written and whenever the outbox is listed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const OUTBOX_KEEP_MS = 24 * 60 * 60 * 1000;

export interface OutboxMessage {
  id: string;
  date: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

export interface OutboxEntry extends OutboxMessage {
  /** The http(s) links in the text, in order, each once. */
  links: string[];
}

// `<ms since epoch, 13 digits>-<16 hex>.json`: names sort by age and say it without opening the file.
const NAME = /^(\d{13})-[0-9a-f]{16}\.json$/;

export class Outbox {
  constructor(readonly dir: string) {}

  /** Writes one message; returns its id (the file name without `.json`). */
  async write(message: Omit<OutboxMessage, 'id' | 'date'>, now: Date): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${String(now.getTime()).padStart(13, '0')}-${randomBytes(8).toString('hex')}`;
    const entry: OutboxMessage = { id, date: now.toISOString(), ...message };
    // Written aside and renamed in, so a listing never reads half a message.
    const partial = join(this.dir, `.${id}.partial`);
    await writeFile(partial, `${JSON.stringify(entry, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(partial, join(this.dir, `${id}.json`));
    await this.purge(now);
    return id;
  }

  /** Messages younger than 24 hours, oldest first. A file that is not a message is skipped. */
  async list(now: Date): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    for (const name of await this.names()) {
      const at = Number(NAME.exec(name)![1]);
      if (at <= now.getTime() - OUTBOX_KEEP_MS) continue;
      const message = parseMessage(await readFile(join(this.dir, name), 'utf8').catch(() => ''));
      if (message) entries.push({ ...message, links: linksIn(message.text) });
    }
    return entries;
  }

  /** Deletes messages 24 hours old or older; returns how many. */
  async purge(now: Date): Promise<number> {
    let purged = 0;
    for (const name of await this.names()) {
      if (Number(NAME.exec(name)![1]) > now.getTime() - OUTBOX_KEEP_MS) continue;
      await rm(join(this.dir, name), { force: true });
      purged++;
    }
    return purged;
  }

  private async names(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => NAME.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}

/** The http(s) links of a text, each once, without trailing punctuation. */
export function linksIn(text: string): string[] {
  const found = (text.match(/https?:\/\/[^\s<>"']+/g) ?? []).map((l) => l.replace(/[.,;:!?)\]]+$/, ''));
  return [...new Set(found)];
}

function parseMessage(json: string): OutboxMessage | null {
  try {
    const v = JSON.parse(json) as Partial<OutboxMessage>;
    const strings = [v.id, v.date, v.from, v.to, v.subject, v.text].every((s) => typeof s === 'string');
    return strings ? { html: null, ...v } as OutboxMessage : null;
  } catch {
    return null;
  }
}
