import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { StaffRolesService } from '../application/staff-roles.service';

const options = z.object({ json: z.boolean().optional() });

/** `tollgate staff list [--json]`: who holds which role. It shows addresses, so the read is recorded. */
@SubCommand({ name: 'list', description: 'who holds which staff role' })
export class ListStaffCommand extends CommandRunner {
  constructor(
    private readonly staff: StaffRolesService,
    private readonly audit: StaffAudit,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    const members = await this.staff.members();
    await this.audit.record({ actor: cliActor(), action: 'staff.list', subjectUserId: null, details: { shown: members.length } });
    const rows = members.map((m) => [m.userId, m.email ?? '(erased)', m.roles.join(',')]);
    const header = ['USER ID', 'EMAIL', 'ROLES'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
    printResult(json, members.length ? [line(header), ...rows.map(line)].join('\n') : 'nobody holds a staff role', { staff: members });
  }

  @Option({ flags: '--json', description: 'print {"staff":[{"userId","email","roles"}]} as JSON' })
  parseJson(): boolean {
    return true;
  }
}
