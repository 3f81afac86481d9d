/**
 * One API key of the account: `PATCH /api/keys/{id}` (limits, as `tollgate keys limits` sets
 * them: a field left out keeps its value, null clears it), `POST /api/keys/{id}/revoke` (refused
 * on its very next request on every instance), `POST /api/keys/{id}/regenerate` (a new secret,
 * in this answer only). Another account's key is 404 `not_found`, as one that does not exist.
 */
import { Body, Controller, HttpCode, Inject, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply } from 'fastify';
import { CLOCK, Clock } from '../../platform/clock';
import { notFound } from '../../platform/http/api-error';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { KeysService } from '../application/keys.service';
import { keyLimitsJson, limitsPatchOf } from '../application/key-limits-input';
import { KeyView, issuedKeySchema, keyView, keyViewSchema } from './key-view';
import { actorOf } from './principal-actor';

@ApiTags('keys')
@AccountApi()
@Controller('api/keys')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Patch(':id')
  @ApiOperation({ summary: "Change a key's limits (models, spendCap in credits, expiresAt, rpm, tpm); null clears one" })
  @ApiParam({ name: 'id' })
  @ApiBody({ schema: jsonSchema(keyLimitsJson) })
  @ApiOkResponse({ schema: jsonSchema(keyViewSchema) })
  @ApiErrors('not_found', 'validation_failed', 'key_revoked', 'invalid_command')
  async limits(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Body() body: unknown): Promise<KeyView> {
    const patch = limitsPatchOf(parseWith(keyLimitsJson, body));
    await this.owned(me, id);
    if (Object.keys(patch).length === 0) return keyView(await this.owned(me, id), this.clock.now());
    const { key } = await this.keys.changeLimits({ keyId: id, limits: patch, actor: actorOf(me) });
    return keyView(key, this.clock.now());
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key: refused from its very next request on, on every instance' })
  @ApiParam({ name: 'id' })
  @ApiOkResponse({ schema: jsonSchema(keyViewSchema) })
  @ApiErrors('not_found')
  async revoke(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<KeyView> {
    await this.owned(me, id);
    const { key } = await this.keys.revoke({ keyId: id, reason: `revoked through the account API by ${actorOf(me)}`, actor: actorOf(me) });
    return keyView(key, this.clock.now());
  }

  @Post(':id/regenerate')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new secret for the key (in this answer only); the old one stops working at once' })
  @ApiParam({ name: 'id' })
  @ApiOkResponse({ schema: jsonSchema(issuedKeySchema) })
  @ApiErrors('not_found', 'key_revoked')
  async regenerate(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<KeyView & { secret: string }> {
    await this.owned(me, id);
    const { key, secret } = await this.keys.regenerate({ keyId: id, actor: actorOf(me) });
    void reply.header('cache-control', 'no-store');
    return { ...keyView(key, this.clock.now()), secret };
  }

  private async owned(me: Principal, keyId: string) {
    const key = keyId.length <= 200 ? await this.keys.get(keyId) : null;
    if (!key || key.accountId !== me.accountId) throw notFound('the key');
    return key;
  }
}
