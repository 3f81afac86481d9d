import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { KeysService } from '../application/keys.service';
import { keyIdOption, warnUnconfirmed } from './keys-cli';

const options = z.object({
  key: keyIdOption,
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'is too long').optional(),
  json: z.boolean().optional(),
});

/**
 * `tollgate keys revoke --key ID [--reason TEXT]`: the key is rejected on its next request on
 * every API instance. Revoking a revoked key changes nothing (and re-sends the broadcast).
 */
@SubCommand({ name: 'revoke', description: 'revoke an API key on every API instance at once' })
export class RevokeKeyCommand extends CommandRunner {
  constructor(private readonly keys: KeysService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { key, reason = 'revoked by an operator', json } = parseOptions(options, raw);
    const r = await this.keys.revoke({ keyId: key, reason, actor: cliActor() });
    const human = r.changed ? `revoked key ${key}` : `key ${key} was already revoked; nothing changed`;
    printResult(json, human, { keyId: key, status: r.key.status, changed: r.changed, ...r.broadcast });
    warnUnconfirmed(r.broadcast);
  }

  @Option({ flags: '--key <id>', description: 'the key id (from `tollgate keys list`)', required: true })
  parseKey(v: string): string {
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
