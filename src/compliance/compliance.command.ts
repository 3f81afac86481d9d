import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';
import { EraseCommand } from './erasure/cli/erase.command';
import { ExportDataCommand } from './export/cli/export-data.command';
import { IncidentCommand } from './incidents/cli/incident.commands';
import { SubjectRequestsCommand } from './requests/cli/subject-requests.commands';
import { RetentionCommand } from './retention/usage-retention.command';

/** `tollgate compliance`: retention, exports, erasure, data-subject requests, breach incidents. */
@Command({
  name: 'compliance',
  description: 'compliance: retention, export, erase, requests, incidents',
  subCommands: [RetentionCommand, ExportDataCommand, SubjectRequestsCommand, EraseCommand, IncidentCommand],
})
export class ComplianceCommand extends CommandGroup {}
