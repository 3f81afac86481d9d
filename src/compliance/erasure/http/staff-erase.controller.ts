/**
 * `POST /staff/users/{id}/erase {reason}` (role compliance): staff erase a person on their
 * request (a data-subject request received by mail, say). Audited before anything is done;
 * erasing someone already erased answers the erasure as it ended (`alreadyErased: true`).
 */
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal, StaffRoles } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { staffReason } from '../../../staff/http/staff-reason';
import { ErasureService } from '../application/erasure.service';
import { ErasureView, erasureView, erasureViewOf } from './erasure-view';

const idParams = z.strictObject({ id: z.uuid({ error: 'must be a user id' }) });
const eraseBody = z.strictObject({ reason: staffReason });

@ApiTags('staff')
@AccountApi()
@StaffRoles('compliance')
@Controller('staff/users')
export class StaffEraseController {
  constructor(private readonly erasure: ErasureService) {}

  @Post(':id/erase')
  @HttpCode(200)
  @ApiOperation({ summary: 'Erase a person (compliance): keys revoked, sign-ins removed, data key destroyed, unused credit refunded or forfeited' })
  @ApiParam({ name: 'id', description: 'user id' })
  @ApiBody({ schema: jsonSchema(eraseBody) })
  @ApiOkResponse({ schema: jsonSchema(erasureView) })
  @ApiErrors('validation_failed', 'user_not_found')
  async erase(@CurrentPrincipal() staff: Principal, @Param() params: unknown, @Body() body: unknown): Promise<ErasureView> {
    const { id } = parseWith(idParams, params, 'query');
    const { reason } = parseWith(eraseBody, body);
    const { erasure, alreadyErased } = await this.erasure.erase({ userId: id, actor: staff.userId, via: 'staff', reason });
    return erasureViewOf(erasure, alreadyErased);
  }
}
