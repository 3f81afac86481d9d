import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { KeysService } from '../application/keys.service';
import { keyIdOption, keyView, warnUnconfirmed } from './keys-cli';

const options = z.object({ key: keyIdOption, json: z.boolean().optional() });

/** `tollgate keys regenerate --key ID`: a new secret for the key; the old one stops working at once. */
@SubCommand({ name: 'regenerate', description: 'replace a key\'s secret (the old one stops working at once)' })
export class RegenerateKeyCommand extends CommandRunner {
  constructor(
    private readonly keys: KeysService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { key, json } = parseOptions(options, raw);
    const r = await this.keys.regenerate({ keyId: key, actor: cliActor() });
    printResult(json, `new secret for key ${key}; the old one no longer works\n\n  ${r.secret}\n`, {
      ...keyView(r.key, this.clock.now()),
      secret: r.secret,
      ...r.broadcast,
    });
    process.stderr.write('warning: this is the only time the secret is shown; only its hash is kept. Store it now.\n');
    warnUnconfirmed(r.broadcast);
  }

  @Option({ flags: '--key <id>', description: 'the key id', required: true })
  parseKey(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the key and its new secret as JSON' })
  parseJson(): boolean {
    return true;
  }
}
