/**
 * `GET|POST /api/management-keys` and `DELETE /api/management-keys/{id}`: the keys scripts use
 * for the account API. Session only: a management key can neither mint nor see nor revoke
 * management keys. The POST answers the secret once (a replay by Idempotency-Key answers the
 * key without it); a revoked key is refused from its very next request.
 */
import { Body, Controller, Delete, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { notFound } from '../../platform/http/api-error';
import { IDEMPOTENCY_HEADER, IdempotencyKeys, sendCreated } from '../../platform/http/idempotency';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../platform/http/pagination';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { displayKey } from '../domain/api-key-secret';
import { actorOf } from '../http/principal-actor';
import { ManagementKeyError } from './management-key';
import { ManagementKeyRecord } from './management-keys.repository';
import { ManagementKeysService } from './management-keys.service';

const viewSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  key: z.string().describe('display form: tg-mgmt-abcd…wxyz'),
  status: z.enum(['active', 'revoked']),
  createdAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable().describe('at most a minute stale'),
});
type View = z.infer<typeof viewSchema>;
const view = (k: ManagementKeyRecord): View => ({
  id: k.keyId,
  name: k.name,
  key: displayKey(k.prefix, k.last4),
  status: k.revokedAt ? 'revoked' : 'active',
  createdAt: k.createdAt.toISOString(),
  revokedAt: k.revokedAt?.toISOString() ?? null,
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
});

// eslint-disable-next-line no-control-regex
const createBody = z.strictObject({ name: z.string().trim().max(200, 'must be at most 200 characters').regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters').optional() });
const cursorShape = z.object({ c: z.iso.datetime(), k: z.uuid() });

async function owned<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ManagementKeyError && err.code === 'management_key_not_found') throw notFound('the management key');
    throw err;
  }
}

@ApiTags('management keys')
@AccountApi()
@SessionOnly()
@Controller('api/management-keys')
export class ManagementKeysController {
  constructor(
    private readonly keys: ManagementKeysService,
    private readonly idempotency: IdempotencyKeys,
  ) {}

  @Get()
  @ApiOperation({ summary: "Your account's management keys, oldest first (never a secret)" })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1..200, default 50' })
  @ApiOkResponse({ schema: jsonSchema(z.object({ data: z.array(viewSchema), nextCursor: z.string().nullable() })) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<View>> {
    const { limit, cursor } = pageParams(query, cursorShape);
    const rows = await this.keys.list(me.accountId, limit + 1, cursor ? { createdAt: new Date(cursor.c), keyId: cursor.k } : null);
    return pageOf(rows, limit, (k) => ({ c: k.createdAt.toISOString(), k: k.keyId }), view);
  }

  @Post()
  @ApiOperation({ summary: 'Create a management key; the answer holds its secret, once' })
  @ApiHeader({ name: IDEMPOTENCY_HEADER, required: false, description: 'a replay (200, `idempotent-replayed: true`) answers the key without its secret' })
  @ApiBody({ schema: jsonSchema(createBody) })
  @ApiCreatedResponse({ schema: jsonSchema(viewSchema.extend({ secret: z.string() })) })
  @ApiErrors('validation_failed', 'idempotency_mismatch', 'idempotency_in_progress', 'invalid_idempotency_key')
  async create(@CurrentPrincipal() me: Principal, @Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const { name = '' } = parseWith(createBody, body);
    const answer = await this.idempotency.run<View & { secret?: string }>(
      { scope: `${me.accountId} POST /api/management-keys`, key: IdempotencyKeys.keyOf(request), request: body },
      {
        create: async () => {
          const { key, secret } = await this.keys.create({ accountId: me.accountId, userId: me.userId, name, actor: actorOf(me) });
          return { id: key.keyId, body: { ...view(key), secret } };
        },
        replay: async (id) => view(await owned(this.keys.get(me.accountId, id))),
      },
    );
    void reply.header('cache-control', 'no-store');
    sendCreated(reply, answer);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke a management key: refused from its very next request on' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ schema: jsonSchema(viewSchema) })
  @ApiErrors('not_found')
  async revoke(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<View> {
    return view(await owned(this.keys.revoke({ accountId: me.accountId, keyId: id, actor: actorOf(me) })));
  }
}
