import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { KeysService } from '../application/keys.service';
import { DEFAULT_PROJECT } from '../domain/api-key.decider';
import { ProjectsService } from '../../projects/application/projects.service';
import { accountOption, keyView, nameOption, projectOption } from './keys-cli';

const options = z.object({
  account: accountOption,
  project: projectOption.optional(),
  name: nameOption.optional(),
  json: z.boolean().optional(),
});

const SHOWN_ONCE = 'warning: this is the only time the secret is shown; only its hash is kept. Store it now.\n';

/** `tollgate keys create --account ID [--project NAME] [--name N] [--json]`: prints the secret, once. */
@SubCommand({ name: 'create', description: 'create an API key for an account (the secret is shown once)' })
export class CreateKeyCommand extends CommandRunner {
  constructor(
    private readonly keys: KeysService,
    private readonly projects: ProjectsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { account, project = DEFAULT_PROJECT, name, json } = parseOptions(options, raw);
    const actor = cliActor();
    await this.keys.requireAccount(account); // before a project is made for an account that does not exist
    // The project by name, as the account API's projects list shows it: found (case aside) or made.
    const { project: p } = await this.projects.findOrCreate({ accountId: account, name: project, actor });
    const { key, secret } = await this.keys.create({ accountId: account, project: p.name, projectId: p.projectId, name, actor });
    const human = [
      `created key ${key.keyId} for account ${key.accountId} (project ${key.project}${key.name ? `, name ${key.name}` : ''})`,
      '',
      `  ${secret}`,
      '',
    ].join('\n');
    printResult(json, human, { ...keyView(key, this.clock.now()), secret });
    process.stderr.write(SHOWN_ONCE);
  }

  @Option({ flags: '--account <id>', description: 'the account the key spends from', required: true })
  parseAccount(v: string): string {
    return v;
  }

  @Option({ flags: '--project <name>', description: 'project the key belongs to, made if the account has none of that name (default "default")' })
  parseProject(v: string): string {
    return v;
  }

  @Option({ flags: '--name <name>', description: 'a name to recognise the key by' })
  parseName(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the key and its secret as JSON' })
  parseJson(): boolean {
    return true;
  }
}
