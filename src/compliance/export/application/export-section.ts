/**
 * An export section: one kind of a person's data, written as `<name>.json` and `<name>.csv`
 * and described in manifest.json. A section is a name, a description, its columns and two
 * reads over the export's snapshot: how many rows (for progress) and the rows themselves, as
 * an async iterator of batches read in pages (a cursor), so no section ever holds all its rows.
 *
 * Sections are registered in ExportSectionRegistry. Another part adds one with a single file:
 * a provider that registers its section in onModuleInit (see sections/*.section.ts).
 */
import { Injectable } from '@nestjs/common';
import { ExportRow } from '../domain/export-format';
import { ExportSnapshot } from './export-snapshot';

export interface ExportSubject {
  userId: string;
  accountId: string;
}

export interface ExportContext {
  subject: ExportSubject;
  /** Reads inside the export's one consistent snapshot (REPEATABLE READ, read only). */
  db: ExportSnapshot;
  /** A vault value of the subject opened, or null when erased (or there was none). */
  open(sealed: string | null, sealedFor?: string | null): Promise<string | null>;
  /** The events of a stream, oldest first, read a page at a time. */
  readStream(streamId: string): AsyncIterable<{ type: string; data: Record<string, unknown>; recordedAt: Date }>;
  /** When the export started: "within retention" is measured from it. */
  now: Date;
  usageRetentionDays: number;
}

export interface ExportSection {
  /** File base name: lower-case words joined by underscores. */
  readonly name: string;
  /** What it holds, in plain words, for manifest.json. */
  readonly description: string;
  readonly columns: readonly string[];
  /** Order among sections (lower first); ties by name. */
  readonly order: number;
  count(ctx: ExportContext): Promise<number>;
  /** The rows in order, a batch at a time (a page of the cursor: one await per page, not per row). */
  batches(ctx: ExportContext): AsyncIterable<readonly ExportRow[]>;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

@Injectable()
export class ExportSectionRegistry {
  private readonly sections = new Map<string, ExportSection>();

  register(section: ExportSection): void {
    if (!NAME.test(section.name) || section.name === 'manifest') throw new Error(`export section name ${JSON.stringify(section.name)} is not allowed`);
    const existing = this.sections.get(section.name);
    if (existing && existing !== section) throw new Error(`export section ${section.name} is registered twice`);
    if (section.columns.length === 0 || new Set(section.columns).size !== section.columns.length) {
      throw new Error(`export section ${section.name}: columns must be distinct and at least one`);
    }
    this.sections.set(section.name, section);
  }

  all(): ExportSection[] {
    return [...this.sections.values()].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }
}
