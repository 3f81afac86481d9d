/**
 * `GET /api/me` and `PATCH /api/me`: the signed-in person (or the owner of the management key)
 * as the dashboard shows them. The email and display name are opened from the vault here.
 */
import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import { z } from 'zod';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { STAFF_ROLES } from '../domain/user.events';
import { UserRecord, UsersService } from '../application/users.service';
import { LowBalanceAlerts } from '../../payments/alerts/low-balance-alerts.service';
import { lowBalanceAlertInput, lowBalanceAlertView } from '../../payments/alerts/low-balance-threshold';

// Control characters (a name goes into pages and mail headers) are refused.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const meSchema = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  accountId: z.uuid(),
  roles: z.array(z.enum(STAFF_ROLES)),
  /** Credits (6 decimals): below this available credit one email is sent (payments/alerts); null when off. */
  lowBalanceAlert: z.string().nullable(),
});
const patchSchema = z
  .strictObject({
    displayName: z
      .string()
      .trim()
      .min(1, 'must not be empty (send null to remove it)')
      .max(100, 'must be at most 100 characters')
      .refine((v) => !CONTROL.test(v), 'must not contain control characters')
      .nullable()
      .optional(),
    lowBalanceAlert: lowBalanceAlertInput.optional(),
  })
  .refine((b) => b.displayName !== undefined || b.lowBalanceAlert !== undefined, 'send displayName or lowBalanceAlert');

const view = (u: UserRecord, threshold: bigint | null) => ({
  id: u.userId,
  email: u.email,
  displayName: u.displayName,
  accountId: u.accountId,
  roles: u.roles,
  lowBalanceAlert: lowBalanceAlertView(threshold),
});

@ApiTags('me')
@AccountApi()
@Controller('api/me')
export class MeController {
  constructor(
    private readonly users: UsersService,
    private readonly alerts: LowBalanceAlerts,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Who is signed in (or owns the management key)' })
  @ApiOkResponse({ schema: jsonSchema(meSchema) })
  async me(@CurrentPrincipal() me: Principal): Promise<z.infer<typeof meSchema>> {
    return this.viewOf(me.userId);
  }

  @Patch()
  @SessionOnly()
  @ApiOperation({ summary: 'Change your display name (null removes it) or your low-balance alert threshold ("2.50" credits; null turns it off)' })
  @ApiBody({ schema: jsonSchema(patchSchema) })
  @ApiOkResponse({ schema: jsonSchema(meSchema) })
  @ApiErrors('validation_failed')
  async patch(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<z.infer<typeof meSchema>> {
    const { displayName, lowBalanceAlert } = parseWith(patchSchema, body);
    if (displayName !== undefined) {
      const sealed = displayName === null ? null : await this.users.sealFor(me.userId, displayName);
      await this.users.execute(me.userId, { type: 'ChangeDisplayName', data: { displayName: sealed } }, `user:${me.userId}`);
    }
    if (lowBalanceAlert !== undefined) await this.alerts.set(me.accountId, me.userId, lowBalanceAlert);
    return this.viewOf(me.userId);
  }

  private async viewOf(userId: string): Promise<z.infer<typeof meSchema>> {
    const user = await this.users.get(userId);
    return view(user, await this.alerts.thresholdOf(user.accountId));
  }
}
