import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { parseOptions, printResult } from '../cli-options';
import { prepareDatabase } from '../../platform/database/prepare-database';

const options = z.object({ json: z.boolean().optional() });

/** `tollgate db migrate`: creates the database if missing, applies pending migrations. */
@SubCommand({ name: 'migrate', description: 'create the database if missing and apply pending migrations' })
export class MigrateDbCommand extends CommandRunner {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    const { applied, alreadyApplied } = await prepareDatabase(this.config.DATABASE_URL);
    const names = applied.map((m) => m.file);
    const human = names.length
      ? names.map((n) => `applied ${n}`).join('\n')
      : `nothing to apply: all ${alreadyApplied} migrations were already applied`;
    printResult(json, human, { applied: names, alreadyApplied });
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
