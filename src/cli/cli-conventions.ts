import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectCommander } from 'nest-commander';
import { EXIT_USAGE } from './cli-errors';

// Structural, not `import from 'commander'`: the top-level commander package is an older
// major than the one nest-commander builds the tree with.
interface CommanderExit {
  exitCode: number;
}
interface CommandNode {
  name(name: string): unknown;
  exitOverride(fn: (err: Error) => never): unknown;
  readonly commands: readonly CommandNode[];
}

/** Commander has printed its message (or the help); only the exit code is left to choose. */
export function onCommanderExit(err: Error): never {
  process.exit((err as Partial<CommanderExit>).exitCode === 0 ? 0 : EXIT_USAGE);
}

/**
 * Finishes the command tree nest-commander built. It names the root after the bin (commander
 * would take the script's file name, `cli`), and gives every level the exit handler:
 * nest-commander sets it on the root only, and subcommands added with addCommand() do not
 * inherit it, so `tollgate credits grant --bogus` would otherwise exit 1 straight from commander.
 */
@Injectable()
export class CliConventions implements OnApplicationBootstrap {
  constructor(@InjectCommander() private readonly root: CommandNode) {}

  onApplicationBootstrap(): void {
    this.root.name('tollgate');
    const visit = (cmd: CommandNode) => {
      cmd.exitOverride(onCommanderExit);
      cmd.commands.forEach(visit);
    };
    visit(this.root);
  }
}
