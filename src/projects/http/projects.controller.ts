/**
 * The account API's projects and their keys: `GET|POST /api/projects`, `PATCH|DELETE
 * /api/projects/{id}` (DELETE archives the project and revokes its keys), `GET|POST
 * /api/projects/{id}/keys`. A session or a management key of the account; another account's
 * project is 404 `not_found`, exactly as one that does not exist. Creating POSTs take an
 * `Idempotency-Key` (platform/http/idempotency.ts).
 */
import { Body, Controller, Delete, Get, Inject, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CLOCK, Clock } from '../../platform/clock';
import { notFound } from '../../platform/http/api-error';
import { IDEMPOTENCY_HEADER, IdempotencyKeys, sendCreated } from '../../platform/http/idempotency';
import { ApiErrors, jsonSchema } from '../../platform/http/openapi';
import { Page, pageOf, pageParams } from '../../platform/http/pagination';
import { parseWith } from '../../platform/http/validation';
import { AccountApi, CurrentPrincipal } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { KeysService } from '../../keys/application/keys.service';
import { ApiKeysRepository } from '../../keys/application/api-keys.repository';
import { limitsPatchOf } from '../../keys/application/key-limits-input';
import { actorOf } from '../../keys/http/principal-actor';
import { KeyView, createKeyBody, issuedKeySchema, keyCursor, keyCursorOf, keyView, keyViewSchema } from '../../keys/http/key-view';
import { ProjectRecord } from '../application/projects.repository';
import { ProjectsService } from '../application/projects.service';
import { ProjectError } from '../domain/project.errors';
import { MAX_PROJECT_NAME } from '../domain/project.decider';

const projectSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  archivedAt: z.iso.datetime().nullable(),
});
type ProjectView = z.infer<typeof projectSchema>;
const view = (p: ProjectRecord): ProjectView => ({
  id: p.projectId,
  name: p.name,
  createdAt: p.createdAt.toISOString(),
  archivedAt: p.archivedAt?.toISOString() ?? null,
});

const nameBody = z.strictObject({ name: z.string().max(1000).describe(`1 to ${MAX_PROJECT_NAME} characters, unique among your live projects (case aside)`) });
const listQuery = z.object({ archived: z.enum(['true', 'false']).optional(), cursor: z.string().optional(), limit: z.string().optional() });
const projectCursor = z.object({ c: z.iso.datetime(), p: z.uuid() });
const pageSchema = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
const IDEMPOTENCY_DOC = {
  name: IDEMPOTENCY_HEADER,
  required: false,
  description: 'the same key and body within 24 h answers the first result again (200, `idempotent-replayed: true`), without any secret',
};

/** The account's project, or 404 `not_found` (another account's, unknown and malformed ids alike). */
async function owned<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ProjectError && err.code === 'project_not_found') throw notFound('the project');
    throw err;
  }
}

@ApiTags('projects')
@AccountApi()
@Controller('api/projects')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectsService,
    private readonly keys: KeysService,
    private readonly keyRows: ApiKeysRepository,
    private readonly idempotency: IdempotencyKeys,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Your projects, oldest first (archived ones only with archived=true)' })
  @ApiQuery({ name: 'archived', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1..200, default 50' })
  @ApiOkResponse({ schema: jsonSchema(pageSchema(projectSchema)) })
  @ApiErrors('validation_failed')
  async list(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<Page<ProjectView>> {
    const q = parseWith(listQuery, query, 'query');
    const { limit, cursor } = pageParams(query, projectCursor);
    const rows = await this.projects.list(me.accountId, {
      limit: limit + 1,
      after: cursor ? { createdAt: new Date(cursor.c), projectId: cursor.p } : null,
      archived: q.archived === 'true',
    });
    return pageOf(rows, limit, (p) => ({ c: p.createdAt.toISOString(), p: p.projectId }), view);
  }

  @Post()
  @ApiOperation({ summary: 'Create a project' })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiBody({ schema: jsonSchema(nameBody) })
  @ApiCreatedResponse({ schema: jsonSchema(projectSchema) })
  @ApiErrors('validation_failed', 'project_name_taken', 'idempotency_mismatch', 'idempotency_in_progress', 'invalid_idempotency_key')
  async create(@CurrentPrincipal() me: Principal, @Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const { name } = parseWith(nameBody, body);
    const answer = await this.idempotency.run(
      { scope: `${me.accountId} POST /api/projects`, key: IdempotencyKeys.keyOf(request), request: body },
      {
        create: async () => {
          const p = await this.projects.create({ accountId: me.accountId, name, actor: actorOf(me) });
          return { id: p.projectId, body: view(p) };
        },
        replay: async (id) => view(await owned(this.projects.get(me.accountId, id))),
      },
    );
    sendCreated(reply, answer);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a project' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiBody({ schema: jsonSchema(nameBody) })
  @ApiOkResponse({ schema: jsonSchema(projectSchema) })
  @ApiErrors('not_found', 'validation_failed', 'project_name_taken', 'project_archived')
  async rename(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Body() body: unknown): Promise<ProjectView> {
    const { name } = parseWith(nameBody, body);
    return view(await owned(this.projects.rename({ accountId: me.accountId, projectId: id, name, actor: actorOf(me) })));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Archive a project and revoke every key of it (each is refused from its next request on)' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ schema: jsonSchema(projectSchema.extend({ revokedKeys: z.number().int() })) })
  @ApiErrors('not_found')
  async archive(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<ProjectView & { revokedKeys: number }> {
    const { project, revokedKeys } = await owned(this.projects.archive({ accountId: me.accountId, projectId: id, actor: actorOf(me) }));
    return { ...view(project), revokedKeys };
  }

  @Get(':id/keys')
  @ApiOperation({ summary: "A project's API keys, oldest first (never a secret)" })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1..200, default 50' })
  @ApiOkResponse({ schema: jsonSchema(pageSchema(keyViewSchema)) })
  @ApiErrors('not_found', 'validation_failed')
  async listKeys(@CurrentPrincipal() me: Principal, @Param('id') id: string, @Query() query: Record<string, unknown>): Promise<Page<KeyView>> {
    const project = await owned(this.projects.get(me.accountId, id));
    const { limit, cursor } = pageParams(query, keyCursor);
    const rows = await this.keys.opened(await this.keyRows.listByProject(project.projectId, limit + 1, cursor ? { createdAt: new Date(cursor.c), keyId: cursor.k } : null));
    const now = this.clock.now();
    return pageOf(rows, limit, keyCursorOf, (k) => keyView(k, now));
  }

  @Post(':id/keys')
  @ApiOperation({ summary: 'Create an API key in a project; the answer holds its secret, once' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiHeader(IDEMPOTENCY_DOC)
  @ApiBody({ schema: jsonSchema(createKeyBody) })
  @ApiCreatedResponse({ schema: jsonSchema(issuedKeySchema), description: 'with `secret`; a replay (200) answers the key without it' })
  @ApiErrors('not_found', 'validation_failed', 'project_archived', 'idempotency_mismatch', 'idempotency_in_progress', 'invalid_idempotency_key')
  async createKey(
    @CurrentPrincipal() me: Principal,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { name, ...limits } = parseWith(createKeyBody, body);
    const project = await owned(this.projects.get(me.accountId, id));
    const answer = await this.idempotency.run<KeyView & { secret?: string }>(
      { scope: `${me.accountId} POST /api/projects/${project.projectId}/keys`, key: IdempotencyKeys.keyOf(request), request: body },
      {
        create: async () => {
          const live = await owned(this.projects.getLive(me.accountId, id));
          const { key, secret } = await this.keys.create({
            accountId: me.accountId,
            project: live.name,
            projectId: live.projectId,
            name: name ?? '',
            limits: limitsPatchOf(limits),
            actor: actorOf(me),
          });
          return { id: key.keyId, body: { ...keyView(key, this.clock.now()), secret } };
        },
        replay: async (keyId) => {
          const key = await this.keys.get(keyId);
          if (!key || key.accountId !== me.accountId) throw notFound('the key');
          return keyView(key, this.clock.now());
        },
      },
    );
    void reply.header('cache-control', 'no-store');
    sendCreated(reply, answer);
  }
}
