/**
 * The dashboard (web/, built by `npm run build:web` into dist/web) served by the API on its own
 * origin, so the session cookie (SameSite=Lax) and the CSRF token work with no CORS.
 *
 * - `/assets/*`: the build's hashed files, cached for a year (a new build has new names).
 * - Any other GET that no route answers, outside the API's own prefixes: index.html, never
 *   cached, so `/projects/…` reloads into the app and a deploy is seen at once. The prefixes are
 *   the first path segment of every route the app registers (collected as they are added, so a
 *   new context's prefix is covered without a list to update) and the fixed ones below: an
 *   unknown `/api/…` or `/v1/…` keeps its API's own 404, never the page.
 * - No build (a checkout where `npm run build:web` has not run): one line at start, and those
 *   paths answer 404 as before; the API works either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/config';
import { Logger } from '../logging/logger';
import { repoRoot } from '../paths';

/** Prefixes that are never the dashboard's, even before any route of theirs exists. */
const RESERVED = ['api', 'auth', 'staff', 'v1', 'v1beta', 'health', 'metrics', 'webhooks', 'docs', 'openapi.json', 'assets'];

/** No script or style from elsewhere, no framing, no requests to anyone but this origin. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const INDEX_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export const webDirOf = (config: Pick<AppConfig, 'WEB_DIR'>): string => config.WEB_DIR ?? join(repoRoot(), 'dist', 'web');

const firstSegment = (url: string): string => url.split('?')[0].split('/').find((s) => s !== '') ?? '';

/**
 * Registers the dashboard on the API's Fastify instance; call before the app initialises (its
 * routes are collected as they are registered). Returns whether a build was found.
 */
export async function serveDashboard(fastify: FastifyInstance, config: Pick<AppConfig, 'WEB_DIR'>, logger: Logger): Promise<boolean> {
  const dir = webDirOf(config);
  const indexPath = join(dir, 'index.html');
  if (!existsSync(indexPath)) {
    logger.warn({ dir }, `the dashboard is not built (no ${indexPath}): run \`npm run build\`; until then / answers 404`);
    return false;
  }
  // Read once: it is a few hundred bytes, and serving it must not depend on the disk later.
  const index = readFileSync(indexPath);
  const reserved = new Set(RESERVED);
  fastify.addHook('onRoute', (route) => {
    const segment = firstSegment(route.url);
    if (segment !== '' && !segment.startsWith(':') && !segment.startsWith('*')) reserved.add(segment);
  });

  if (existsSync(join(dir, 'assets'))) {
    await fastify.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      // One route per file of the build, made at start: no file-system lookup for unknown paths.
      wildcard: false,
      index: false,
      decorateReply: false,
      cacheControl: false,
      setHeaders: (reply: FastifyReply) => {
        void reply.header('cache-control', ASSET_CACHE_CONTROL).header('x-content-type-options', 'nosniff');
      },
    });
  }

  // The app's pages: what no route answers, when it is a GET of a page (not a file, not an API path).
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return done();
    const path = request.url.split('?')[0];
    const last = path.split('/').pop() ?? '';
    if (reserved.has(firstSegment(path)) || last.includes('.')) return done();
    void reply.code(200).headers(INDEX_HEADERS).send(index);
  });
  return true;
}
