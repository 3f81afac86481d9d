import { Command } from 'nest-commander';
import { CommandGroup } from '../../cli/command-group';
import { LedgerBalanceCommand } from './ledger-balance.command';
import { LedgerExportCommand } from './ledger-export.command';
import { LedgerReplayCommand } from './ledger-replay.command';
import { LedgerTrialBalanceCommand } from './ledger-trial-balance.command';
import { LedgerVerifyCommand } from './ledger-verify.command';

@Command({
  name: 'ledger',
  description: 'accountants: balances as of any instant, trial balance, replay, verify, export',
  subCommands: [LedgerReplayCommand, LedgerBalanceCommand, LedgerTrialBalanceCommand, LedgerVerifyCommand, LedgerExportCommand],
})
export class LedgerCommand extends CommandGroup {}
