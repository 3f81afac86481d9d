import { CommandRunner } from 'nest-commander';

/**
 * A command that only groups subcommands (`tollgate db`, `tollgate accounts`): alone it
 * prints its help, and an unknown subcommand is a usage error (exit 2, see cli-conventions.ts).
 */
export abstract class CommandGroup extends CommandRunner {
  run(args: string[]): Promise<void> {
    if (args.length > 0) this.command.error(`error: unknown command '${args[0]}'`);
    this.command.help({ error: true });
  }
}
