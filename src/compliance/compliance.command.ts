import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';
import { RetentionCommand } from './retention/usage-retention.command';

/** `tollgate compliance`: retention, exports, erasure, data-subject requests, breach incidents. */
@Command({ name: 'compliance', description: 'compliance: retention, export, erase, requests, incidents', subCommands: [RetentionCommand] })
export class ComplianceCommand extends CommandGroup {}
