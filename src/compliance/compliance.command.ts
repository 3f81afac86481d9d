import { Command } from 'nest-commander';
import { CommandGroup } from '../cli/command-group';
import { IncidentCommand } from './incidents/cli/incident.commands';

/** `tollgate compliance`: retention, exports, erasure, data-subject requests, breach incidents. */
@Command({ name: 'compliance', description: 'compliance: retention, export, erase, requests, incidents', subCommands: [IncidentCommand] })
export class ComplianceCommand extends CommandGroup {}
