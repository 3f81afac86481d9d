import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { displayKey } from '../domain/api-key-secret';
import { KeysService } from '../application/keys.service';
import { accountOption, keyView, limitsText, statusText } from './keys-cli';

const options = z.object({ account: accountOption, json: z.boolean().optional() });

/** `tollgate keys list --account ID [--json]`: every key of the account (never a hash or secret). */
@SubCommand({ name: 'list', description: "an account's API keys, their status and limits" })
export class ListKeysCommand extends CommandRunner {
  constructor(
    private readonly keys: KeysService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { account, json } = parseOptions(options, raw);
    const keys = await this.keys.list(account);
    const now = this.clock.now();
    const rows = keys.map((k) => [k.keyId, k.project, k.name || '-', displayKey(k.prefix, k.last4), statusText(k, now), limitsText(k), k.createdAt.toISOString()]);
    const header = ['KEY ID', 'PROJECT', 'NAME', 'KEY', 'STATUS', 'LIMITS', 'CREATED'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    const human = keys.length ? [line(header), ...rows.map(line)].join('\n') : `account ${account} has no keys`;
    printResult(json, human, { accountId: account, keys: keys.map((k) => keyView(k, now)) });
  }

  @Option({ flags: '--account <id>', description: 'the account', required: true })
  parseAccount(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the keys as JSON' })
  parseJson(): boolean {
    return true;
  }
}
