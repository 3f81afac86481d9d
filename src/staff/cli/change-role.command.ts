import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { parseOptions, printResult } from '../../cli/cli-options';
import { STAFF_ROLES } from '../../accounts/domain/user.events';
import { RoleChange, StaffRolesService } from '../application/staff-roles.service';
import { staffReason } from '../http/staff-reason';

const options = z.object({
  email: z
    .string({ error: 'is required' })
    .trim()
    .max(254, 'is too long')
    .pipe(z.email({ pattern: z.regexes.html5Email, error: 'must be an email address' })),
  role: z.enum(STAFF_ROLES, { error: `must be one of ${STAFF_ROLES.join(', ')}` }),
  reason: staffReason,
  json: z.boolean().optional(),
});

const answer = (r: RoleChange) => ({ userId: r.user.userId, roles: r.user.roles, changed: r.changed, auditId: r.auditId });

/** What grant and revoke share: the options, and nothing written before they all check out. */
abstract class ChangeRoleCommand extends CommandRunner {
  protected abstract readonly staff: StaffRolesService;

  protected parse(raw: Record<string, unknown>): z.output<typeof options> {
    return parseOptions(options, raw);
  }

  @Option({ flags: '--email <address>', description: "the person's email address", required: true })
  parseEmail(v: string): string {
    return v;
  }

  @Option({ flags: '--role <role>', description: STAFF_ROLES.join(' | '), required: true })
  parseRole(v: string): string {
    return v;
  }

  @Option({ flags: '--reason <text>', description: 'why (kept in the audit trail, encrypted)', required: true })
  parseReason(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print {"userId","roles","changed","auditId"} as JSON' })
  parseJson(): boolean {
    return true;
  }
}

/** `tollgate staff grant --email E --role R --reason TEXT`: audited, then granted. */
@SubCommand({ name: 'grant', description: 'give a person a staff role (audited, with a reason)' })
export class GrantRoleCommand extends ChangeRoleCommand {
  constructor(protected readonly staff: StaffRolesService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { email, role, reason, json } = this.parse(raw);
    const r = await this.staff.grant({ who: { email }, role, reason, actor: cliActor() });
    const human = r.changed ? `granted ${role} to user ${r.user.userId}` : `user ${r.user.userId} already holds ${role}; nothing changed`;
    printResult(json, `${human} (roles: ${r.user.roles.join(', ') || 'none'})`, answer(r));
  }
}

/** `tollgate staff revoke --email E --role R --reason TEXT`: audited, then revoked; effective on the person's next request. */
@SubCommand({ name: 'revoke', description: 'take a staff role away (audited, with a reason)' })
export class RevokeRoleCommand extends ChangeRoleCommand {
  constructor(protected readonly staff: StaffRolesService) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { email, role, reason, json } = this.parse(raw);
    const r = await this.staff.revoke({ who: { email }, role, reason, actor: cliActor() });
    printResult(json, `revoked ${role} from user ${r.user.userId} (roles: ${r.user.roles.join(', ') || 'none'})`, answer(r));
  }
}
