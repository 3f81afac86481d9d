/**
 * `tollgate compliance export --user ID | --email E --output FILE [--reason TEXT]`: writes a
 * person's data export (the same zip as the API's) straight to FILE, with a progress bar, without
 * the worker. Recorded in the staff audit trail (actor cli:<os user>) before anything is read.
 * FILE must not exist; the zip is written beside it and renamed into place when whole, so a
 * run that fails or is interrupted leaves no partial FILE.
 */
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { UsersService } from '../../../accounts/application/users.service';
import { UserError } from '../../../accounts/domain/user.decider';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { MAX_REASON_CHARS } from '../../../audit/domain/audit.events';
import { cliActor } from '../../../cli/cli-actor';
import { UsageError } from '../../../cli/cli-errors';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { Progress, progressBar } from '../../../cli/progress';
import { ExportsService } from '../application/exports.service';

const options = z
  .object({
    user: z.uuid({ error: 'must be a user id (uuid)' }).optional(),
    email: z.string().trim().min(3, 'must be an email address').max(320, 'is too long').optional(),
    output: z.string({ error: 'is required: the file to write the zip to' }).min(1, 'is required: the file to write the zip to'),
    reason: z.string().trim().min(1, 'must not be empty').max(MAX_REASON_CHARS, 'is too long').optional(),
    json: z.boolean().optional(),
  })
  .refine((o) => (o.user === undefined) !== (o.email === undefined), { message: 'give exactly one of --user and --email', path: ['user'] });

@SubCommand({ name: 'export', description: "write a person's data export (zip of JSON and CSV, with a manifest) to a file (audited)" })
export class ExportDataCommand extends CommandRunner {
  constructor(
    private readonly exports: ExportsService,
    private readonly users: UsersService,
    private readonly audit: StaffAudit,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const o = parseOptions(options, raw);
    if (existsSync(o.output)) throw new UsageError(`--output: ${o.output} exists already; choose a new file`);
    const person = o.user ? await this.users.get(o.user) : await this.users.findByEmail(o.email!);
    if (!person) throw new UserError('user_not_found', 'no person has this email address');
    await this.audit.record({ actor: cliActor(), action: 'exports.write', subjectUserId: person.userId, reason: o.reason ?? null, details: { via: 'cli' } });

    // This process does nothing else: V8 is asked to keep its heap small rather than grow it
    // (an export makes a lot of short-lived garbage; by default the heap grows to hold it
    // between full collections, about 100 MiB more resident memory for a large export).
    setFlagsFromString('--optimize-for-size');
    const part = `${o.output}.part-${process.pid}`;
    const progress: { bar: Progress | null } = { bar: null };
    try {
      const sink = createWriteStream(part, { flags: 'wx', mode: 0o600 });
      const result = await this.exports.writeTo(person.userId, sink, (p) => {
        progress.bar ??= progressBar('export', p.rowsTotal, 'rows');
        progress.bar.update(p.rowsDone);
      });
      progress.bar?.stop();
      progress.bar = null;
      await fs.rename(part, o.output);
      const rows = result.manifest.files.reduce((n, f) => n + f.rows, 0);
      printResult(
        o.json,
        `wrote ${o.output}: ${result.manifest.files.length} files, ${rows} rows, ${result.sizeBytes} bytes, sha256 ${result.sha256}`,
        { output: o.output, userId: person.userId, files: result.manifest.files.length, rows, sizeBytes: result.sizeBytes, sha256: result.sha256 },
      );
    } catch (err) {
      progress.bar?.stop();
      await fs.rm(part, { force: true });
      throw err;
    }
  }

  @Option({ flags: '--user <id>', description: 'the person (user id)' })
  parseUser(v: string): string {
    return v;
  }
  @Option({ flags: '--email <address>', description: 'the person, by email address' })
  parseEmail(v: string): string {
    return v;
  }
  @Option({ flags: '--output <file>', description: 'where to write the zip (must not exist)', required: true })
  parseOutput(v: string): string {
    return v;
  }
  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail)' })
  parseReason(v: string): string {
    return v;
  }
  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
