import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';
import { ExportDataCommand } from './export/cli/export-data.command';

/** `tollgate compliance`: retention, exports, erasure, data-subject requests, breach incidents. */
@Command({ name: 'compliance', description: 'compliance: retention, export, erase, requests, incidents', subCommands: [ExportDataCommand] })
export class ComplianceCommand extends CommandGroup {}
