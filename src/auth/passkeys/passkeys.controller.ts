/**
 * A person's passkeys: list, rename, remove. Session only: a management key (a script) may not
 * change how its owner signs in.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Patch } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import { z } from 'zod';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../http/account-guard';
import { Principal } from '../http/principal';
import { PasskeyView, passkeyList, passkeyView, renameBody } from './passkey.schemas';
import { PasskeysService } from './passkeys.service';

const idParam = z.object({ id: z.string().min(1).max(1400).regex(/^[A-Za-z0-9_-]+$/, 'must be a passkey id (base64url)') });

@ApiTags('passkeys')
@AccountApi()
@SessionOnly()
@Controller('api/passkeys')
export class PasskeysController {
  constructor(private readonly passkeys: PasskeysService) {}

  @Get()
  @ApiOperation({ summary: 'Your passkeys, oldest first' })
  @ApiOkResponse({ schema: jsonSchema(passkeyList) })
  async list(@CurrentPrincipal() me: Principal): Promise<{ data: PasskeyView[]; nextCursor: null }> {
    // At most MAX_PASSKEYS (20) per person: always one page.
    return { data: await this.passkeys.list(me.userId), nextCursor: null };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename one of your passkeys' })
  @ApiBody({ schema: jsonSchema(renameBody) })
  @ApiOkResponse({ schema: jsonSchema(passkeyView) })
  @ApiErrors('validation_failed', 'passkey_not_found')
  async rename(@CurrentPrincipal() me: Principal, @Param() params: unknown, @Body() body: unknown): Promise<PasskeyView> {
    const { id } = parseWith(idParam, params, 'query');
    const { name } = parseWith(renameBody, body);
    return this.passkeys.rename(me.userId, id, name);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove one of your passkeys: it no longer signs in' })
  @ApiErrors('validation_failed', 'passkey_not_found')
  async remove(@CurrentPrincipal() me: Principal, @Param() params: unknown): Promise<void> {
    const { id } = parseWith(idParam, params, 'query');
    await this.passkeys.remove(me.userId, id);
  }
}
