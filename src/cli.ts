/** The `tollgate` command (bin/tollgate.js). */
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { configOrExit } from './config/boot';
import { CliModule } from './cli.module';
import { onCommanderExit } from './cli/cli-conventions';
import { reportCliError } from './cli/cli-errors';

async function main(): Promise<void> {
  const config = configOrExit();
  await CommandFactory.run(await CliModule.forRoot(config), {
    logger: false,
    // Throw bootstrap failures to main() below instead of exiting 1 in silence (logger is off).
    abortOnError: false,
    cliName: 'tollgate',
    errorHandler: onCommanderExit,
    serviceErrorHandler: (err) => {
      process.exitCode = reportCliError(err, config);
    },
  });
}

main().then(
  // Exit even if a library left a timer or socket behind: a CLI must not hang a script.
  () => process.exit(process.exitCode ?? 0),
  (err) => process.exit(reportCliError(err)),
);
