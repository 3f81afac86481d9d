import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';

/** `tollgate compliance`: retention, exports, erasure, data-subject requests, breach incidents. */
@Command({ name: 'compliance', description: 'compliance: retention, export, erase, requests, incidents', subCommands: [] })
export class ComplianceCommand extends CommandGroup {}
