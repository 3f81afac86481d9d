/**
 * The account API's OpenAPI 3 document, at `GET /openapi.json` and browsable at `/docs`
 * (@nestjs/swagger, scanning the controllers). Bodies and answers are described by the same zod
 * schemas the routes parse with (`jsonSchema`), so the document cannot drift from what is
 * checked; `@ApiErrors(...)` lists a route's error codes with their statuses and the one error
 * shape.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';
import { API_ERROR_STATUS } from './api-error';
import { DOMAIN_ERROR_STATUS } from './api-error.filter';

/** A zod schema as an OpenAPI 3.0 schema object (for `@ApiBody({ schema })`, `@ApiOkResponse({ schema })`). */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

const statusOf = (code: string): number =>
  (API_ERROR_STATUS as Record<string, number>)[code] ?? DOMAIN_ERROR_STATUS[code] ?? 500;

/** Documents the error answers of a route: one response per status, naming its codes. */
export function ApiErrors(...codes: string[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  return applyDecorators(
    ...[...byStatus].map(([status, list]) => ApiResponse({ status, description: `error code: ${list.join(', ')}`, schema: ERROR_BODY })),
  );
}

export function setupOpenApi(app: NestFastifyApplication, publicUrl: string): void {
  const config = new DocumentBuilder()
    .setTitle('Tollgate account API')
    .setDescription(
      'People, projects, keys, usage and billing of a Tollgate gateway. Authenticate with the session cookie ' +
        '(`tg_session`; writes also send `x-csrf-token` from `GET /auth/csrf`) or a management key ' +
        '(`Authorization: Bearer tg-mgmt-…`). Errors are `{ "error": { "code", "message" } }`.',
    )
    .setVersion('1')
    .addServer(publicUrl)
    .addCookieAuth('tg_session')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'a management key, tg-mgmt-…' }, 'management-key')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
