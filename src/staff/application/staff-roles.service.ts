/**
 * Granting and revoking staff roles (admin, accountant, compliance, support), from the CLI or
 * by an admin through /staff. Each change is checked first (the person exists; a revoke needs
 * the role held), then recorded in the audit trail with its reason, then carried out as a
 * RoleGranted / RoleRevoked event on the person's stream through UsersService (the users row's
 * roles follow, and the guard reads them on every request).
 *
 * The reason is free text that may name people, so it is kept only in the audit entry, sealed
 * with the person's vault key; the role event's `reason` points at that entry (`audit:<id>`).
 */
import { Injectable } from '@nestjs/common';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { UserRecord, UsersService } from '../../accounts/application/users.service';
import { UserError } from '../../accounts/domain/user.decider';
import { StaffRole } from '../../accounts/domain/user.events';
import { StaffDirectory } from './staff-directory';

export interface RoleChangeInput {
  /** Whom: by user id, or by email address (found by its keyed hash). */
  who: { userId: string } | { email: string };
  role: StaffRole;
  reason: string;
  /** A staff member's user id, or cli:<os user>. */
  actor: string;
}

export interface RoleChange {
  user: UserRecord;
  /** False when the person already held the role (a grant that changed nothing). */
  changed: boolean;
  auditId: string;
}

export interface StaffMember {
  userId: string;
  email: string | null;
  roles: StaffRole[];
}

@Injectable()
export class StaffRolesService {
  constructor(
    private readonly users: UsersService,
    private readonly audit: StaffAudit,
    private readonly directory: StaffDirectory,
  ) {}

  async grant(input: RoleChangeInput): Promise<RoleChange> {
    return this.change('grant', input);
  }

  async revoke(input: RoleChangeInput): Promise<RoleChange> {
    return this.change('revoke', input);
  }

  private async change(kind: 'grant' | 'revoke', input: RoleChangeInput): Promise<RoleChange> {
    // The routes and commands refuse a missing reason first; this holds for every other caller.
    if (typeof input.reason !== 'string' || input.reason.trim() === '') throw new UserError('invalid_command', 'a reason is required');
    const user = await this.find(input.who);
    const { state } = await this.users.load(user.userId);
    const held = state.roles.has(input.role);
    if (kind === 'revoke' && !held) throw new UserError('role_not_held', `the person does not hold the role ${input.role}`);
    const changed = kind === 'grant' ? !held : true;
    const { auditId } = await this.audit.record({
      actor: input.actor,
      action: `role.${kind}`,
      subjectUserId: user.userId,
      reason: input.reason,
      details: { role: input.role, changed },
    });
    const data = { role: input.role, by: input.actor, reason: `audit:${auditId}` };
    await this.users.execute(user.userId, kind === 'grant' ? { type: 'GrantRole', data } : { type: 'RevokeRole', data }, input.actor);
    return { user: await this.users.get(user.userId), changed, auditId };
  }

  private async find(who: RoleChangeInput['who']): Promise<UserRecord> {
    if ('userId' in who) return this.users.get(who.userId);
    const user = await this.users.findByEmail(who.email);
    if (!user) throw new UserError('user_not_found', 'no person has this email address');
    return user;
  }

  /** Everyone holding a role, longest-standing first (the caller records the read). */
  async members(): Promise<StaffMember[]> {
    const people = await Promise.all((await this.directory.staffIds()).map((id) => this.users.get(id)));
    return people.filter((u) => u.roles.length > 0).map((u) => ({ userId: u.userId, email: u.email, roles: u.roles }));
  }
}
