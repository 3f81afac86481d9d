/**
 * The account API's OpenAPI 3 document, at `GET /openapi.json` (and `/openapi.yaml`) and
 * browsable at `/docs` (swagger-ui), scanned from the controllers by @nestjs/swagger. Bodies and
 * answers are described by the same zod schemas the routes parse with (`jsonSchema`), so the
 * document cannot drift from what is checked; `@ApiErrors(...)` lists a route's error codes with
 * their statuses and the one error shape.
 *
 * Nothing of it is loaded or built at start: the routes are registered then, and the first
 * request to one loads swagger, runs the decorators recorded meanwhile (openapi-decorators.ts)
 * and builds the document, kept from then on. An API that only proxies never holds it.
 */
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import { applyDecorators } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { onFirstUse } from '../on-first-use';
import { API_ERROR_STATUS } from './api-error';
import { DOMAIN_ERROR_STATUS } from './api-error.filter';
import { ApiResponse, loadSwagger } from './openapi-decorators';

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

/** The document and what serves it, built on first use. */
interface Docs {
  json: string;
  yaml: string;
  /** swagger-ui's start script, the document inline (a script file: no inline script in the page). */
  initJs: string;
}

function buildDocs(app: NestFastifyApplication, publicUrl: string): Docs {
  const { DocumentBuilder, SwaggerModule } = loadSwagger();
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
  // swagger's own YAML writer, as its setup used it (js-yaml has no types of its own here).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const jsYaml = require(require.resolve('js-yaml', { paths: [swaggerDir()] })) as { dump(doc: unknown, opts: { skipInvalid: boolean; noRefs: boolean }): string };
  const json = JSON.stringify(document);
  return {
    json,
    yaml: jsYaml.dump(document, { skipInvalid: true, noRefs: true }),
    initJs:
      `window.onload = function () {\n  window.ui = SwaggerUIBundle({ spec: ${json}, dom_id: '#swagger-ui', deepLinking: true,\n` +
      `    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });\n};\n`,
  };
}

/** swagger-ui's page; `base` is where its files are, relative to the page (`docs/` from /docs, `./` from /docs/). */
const page = (base: string): string => `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Tollgate account API</title>
  <link rel="stylesheet" type="text/css" href="${base}swagger-ui.css">
  <link rel="icon" type="image/png" href="${base}favicon-32x32.png" sizes="32x32">
  <style>html { box-sizing: border-box; overflow-y: scroll; } *, *:before, *:after { box-sizing: inherit; } body { margin: 0; background: #fafafa; }</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="${base}swagger-ui-bundle.js"></script>
<script src="${base}swagger-ui-standalone-preset.js"></script>
<script src="${base}swagger-ui-init.js"></script>
</body>
</html>
`;

/** Where @nestjs/swagger and its own dependencies (swagger-ui-dist, js-yaml) are: found, not loaded. */
const swaggerDir = (): string => dirname(require.resolve('@nestjs/swagger/package.json'));

/** Registers /openapi.json, /openapi.yaml and /docs; call before the app initialises. */
export async function setupOpenApi(app: NestFastifyApplication, publicUrl: string): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const docs = onFirstUse(() => buildDocs(app, publicUrl));
  const html = { '/docs': page('docs/'), '/docs/': page('./') };
  const send = (reply: FastifyReply, type: string, body: string) => reply.type(type).send(body);
  fastify.get('/openapi.json', (_req, reply) => send(reply, 'application/json', docs().json));
  fastify.get('/openapi.yaml', (_req, reply) => send(reply, 'text/yaml', docs().yaml));
  fastify.get('/docs', (_req, reply) => send(reply, 'text/html', html['/docs']));
  fastify.get('/docs/', (_req, reply) => send(reply, 'text/html', html['/docs/']));
  fastify.get('/docs/index.html', (_req, reply) => send(reply, 'text/html', html['/docs/']));
  fastify.get('/docs/swagger-ui-init.js', (_req, reply) => send(reply, 'application/javascript', docs().initJs));
  // swagger-ui's own files (its bundle, styles, icons), straight from the package.
  await fastify.register(fastifyStatic, {
    root: dirname(require.resolve('swagger-ui-dist/package.json', { paths: [swaggerDir()] })),
    prefix: '/docs/',
    index: false,
    decorateReply: false,
    allowedPath: (path) => path !== '/LICENSE', // as @nestjs/swagger's own setup hid it
  });
}
