/**
 * `GET /api/me` and `PATCH /api/me`: the signed-in person (or the owner of the management key)
 * as the dashboard shows them. The email and display name are opened from the vault here.
 */
import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { STAFF_ROLES } from '../domain/user.events';
import { UserRecord, UsersService } from '../application/users.service';

// Control characters (a name goes into pages and mail headers) are refused.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const meSchema = z.object({
  id: z.uuid(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  accountId: z.uuid(),
  roles: z.array(z.enum(STAFF_ROLES)),
});
const patchSchema = z.strictObject({
  displayName: z
    .string()
    .trim()
    .min(1, 'must not be empty (send null to remove it)')
    .max(100, 'must be at most 100 characters')
    .refine((v) => !CONTROL.test(v), 'must not contain control characters')
    .nullable(),
});

const view = (u: UserRecord) => ({ id: u.userId, email: u.email, displayName: u.displayName, accountId: u.accountId, roles: u.roles });

@ApiTags('me')
@AccountApi()
@Controller('api/me')
export class MeController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOperation({ summary: 'Who is signed in (or owns the management key)' })
  @ApiOkResponse({ schema: jsonSchema(meSchema) })
  async me(@CurrentPrincipal() me: Principal): Promise<z.infer<typeof meSchema>> {
    return view(await this.users.get(me.userId));
  }

  @Patch()
  @SessionOnly()
  @ApiOperation({ summary: 'Change your display name (null removes it)' })
  @ApiBody({ schema: jsonSchema(patchSchema) })
  @ApiOkResponse({ schema: jsonSchema(meSchema) })
  @ApiErrors('validation_failed')
  async patch(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<z.infer<typeof meSchema>> {
    const { displayName } = parseWith(patchSchema, body);
    const sealed = displayName === null ? null : await this.users.sealFor(me.userId, displayName);
    await this.users.execute(me.userId, { type: 'ChangeDisplayName', data: { displayName: sealed } }, `user:${me.userId}`);
    return view(await this.users.get(me.userId));
  }
}
