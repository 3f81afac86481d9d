/**
 * `/staff/users`: support staff find a person by email (through its keyed hash, never a scan of
 * addresses) and see their profile; admins grant and revoke roles. Every request that reads
 * or changes a person is recorded through StaffAudit before its answer is sent (a failure to
 * record fails the request), writes with the reason they must carry. Session only: management
 * keys never reach these routes (@StaffRoles implies it).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { UserRecord, UsersService } from '../../accounts/application/users.service';
import { UserError } from '../../accounts/domain/user.decider';
import { STAFF_ROLES } from '../../accounts/domain/user.events';
import { StaffAudit } from '../../audit/application/staff-audit.service';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { BalanceSummaries } from '../application/balance-summary';
import { StaffRolesService } from '../application/staff-roles.service';
import { staffReason } from './staff-reason';

const searchQuery = z.strictObject({
  email: z
    .string({ error: 'is required' })
    .trim()
    .max(254, 'is too long')
    .pipe(z.email({ pattern: z.regexes.html5Email, error: 'must be an email address' })),
});
const userId = z.strictObject({ id: z.uuid({ error: 'must be a user id' }) });
const roleParams = z.strictObject({ id: z.uuid({ error: 'must be a user id' }), role: z.enum(STAFF_ROLES, { error: `must be one of ${STAFF_ROLES.join(', ')}` }) });
const grantBody = z.strictObject({ role: z.enum(STAFF_ROLES, { error: `must be one of ${STAFF_ROLES.join(', ')}` }), reason: staffReason });
const revokeBody = z.strictObject({ reason: staffReason });

const staffUser = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  email: z.string().nullable().describe('null once the person is erased, or for one who signed up without an address'),
  displayName: z.string().nullable(),
  roles: z.array(z.enum(STAFF_ROLES)),
  createdAt: z.iso.datetime(),
});
const searchAnswer = z.object({ data: z.array(staffUser).describe('the one person with this address, or none') });
const profile = staffUser.extend({
  emailVerified: z.boolean(),
  lastSignInAt: z.iso.datetime().nullable(),
  identities: z.array(z.object({ provider: z.string(), linkedAt: z.iso.datetime() })),
  passkeys: z.number().int().describe('how many passkeys the person has registered'),
  balance: z
    .object({ available: z.string(), held: z.string(), frozen: z.string(), receivable: z.string() })
    .describe('exact decimal strings of credits'),
});
const roleAnswer = z.object({ id: z.uuid(), roles: z.array(z.enum(STAFF_ROLES)), changed: z.boolean(), auditId: z.uuid() });

const view = (u: UserRecord): z.infer<typeof staffUser> => ({
  id: u.userId,
  accountId: u.accountId,
  email: u.email,
  displayName: u.displayName,
  roles: u.roles,
  createdAt: u.createdAt.toISOString(),
});

@ApiTags('staff')
@AccountApi()
@Controller('staff/users')
export class StaffUsersController {
  constructor(
    private readonly users: UsersService,
    private readonly roles: StaffRolesService,
    private readonly audit: StaffAudit,
    private readonly balances: BalanceSummaries,
  ) {}

  @Get()
  @StaffRoles('support')
  @ApiOperation({ summary: 'Find a person by email address (support)', description: 'Recorded in the audit trail, found or not.' })
  @ApiQuery({ name: 'email', required: true })
  @ApiOkResponse({ schema: jsonSchema(searchAnswer) })
  @ApiErrors('validation_failed')
  async search(@CurrentPrincipal() staff: Principal, @Query() query: unknown): Promise<z.infer<typeof searchAnswer>> {
    const { email } = parseWith(searchQuery, query, 'query');
    const user = await this.users.findByEmail(email);
    await this.audit.record({ actor: staff.userId, action: 'users.search', subjectUserId: user?.userId ?? null, details: { found: user !== null } });
    return { data: user ? [view(user)] : [] };
  }

  @Get(':id')
  @StaffRoles('support')
  @ApiOperation({ summary: "A person's profile, roles and balance (support)", description: 'Recorded in the audit trail.' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiOkResponse({ schema: jsonSchema(profile) })
  @ApiErrors('validation_failed', 'user_not_found')
  async get(@CurrentPrincipal() staff: Principal, @Param() params: unknown): Promise<z.infer<typeof profile>> {
    const { id } = parseWith(userId, params, 'query');
    const user = await this.users.get(id).catch(async (err: unknown) => {
      if (err instanceof UserError && err.code === 'user_not_found') {
        await this.audit.record({ actor: staff.userId, action: 'users.view', subjectUserId: id, details: { found: false } });
      }
      throw err;
    });
    const { state } = await this.users.load(id);
    const balance = await this.balances.of(user.accountId);
    await this.audit.record({ actor: staff.userId, action: 'users.view', subjectUserId: id, details: { found: true } });
    return {
      ...view(user),
      emailVerified: state.emailVerified,
      lastSignInAt: state.lastSignInAt,
      identities: state.identities.map((i) => ({ provider: i.provider, linkedAt: i.linkedAt })),
      passkeys: state.passkeys.size,
      balance,
    };
  }

  @Post(':id/roles')
  @HttpCode(200)
  @StaffRoles('admin')
  @ApiOperation({ summary: 'Grant a staff role (admin)', description: 'Needs a reason; recorded in the audit trail before the role is granted.' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiBody({ schema: jsonSchema(grantBody) })
  @ApiOkResponse({ schema: jsonSchema(roleAnswer) })
  @ApiErrors('validation_failed', 'user_not_found')
  async grant(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<z.infer<typeof roleAnswer>> {
    const { id } = parseWith(userId, params, 'query');
    const { role, reason } = parseWith(grantBody, body);
    const done = await this.roles.grant({ who: { userId: id }, role, reason, actor: staff.userId });
    return { id, roles: done.user.roles, changed: done.changed, auditId: done.auditId };
  }

  @Post(':id/roles/:role/revoke')
  @HttpCode(200)
  @StaffRoles('admin')
  @ApiOperation({ summary: 'Revoke a staff role (admin)', description: 'Needs a reason; recorded in the audit trail before the role is revoked. Takes effect on the next request.' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiParam({ name: 'role', enum: STAFF_ROLES })
  @ApiBody({ schema: jsonSchema(revokeBody) })
  @ApiOkResponse({ schema: jsonSchema(roleAnswer) })
  @ApiErrors('validation_failed', 'user_not_found', 'role_not_held')
  async revoke(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<z.infer<typeof roleAnswer>> {
    const { id, role } = parseWith(roleParams, params, 'query');
    const { reason } = parseWith(revokeBody, body);
    const done = await this.roles.revoke({ who: { userId: id }, role, reason, actor: staff.userId });
    return { id, roles: done.user.roles, changed: done.changed, auditId: done.auditId };
  }
}
