/**
 * @nestjs/swagger's decorators, recorded when a controller is defined and run only when the
 * OpenAPI document is first asked for (openapi.ts). The decorators only write metadata that
 * the document's scan reads, yet importing them loads all of @nestjs/swagger (its scanner,
 * lodash, js-yaml): ~8 MiB of RSS the API would hold from start for a page the proxy never
 * serves (issue 23, "Memory"). Controllers import them from here, never from @nestjs/swagger;
 * test/e2e/ops/start-up-modules.spec.ts holds the API to not loading swagger at start.
 *
 * Replayed in the order they ran, on the same class, key and descriptor, each writes what it
 * would have written at definition; one applied after swagger is loaded runs at once.
 */
import type * as Swagger from '@nestjs/swagger';
import { onFirstUse } from '../on-first-use';

/** The ones this code uses; add a name here (and its export below) to use another. */
type Name =
  | 'ApiAcceptedResponse'
  | 'ApiBearerAuth'
  | 'ApiBody'
  | 'ApiConsumes'
  | 'ApiCookieAuth'
  | 'ApiCreatedResponse'
  | 'ApiExcludeController'
  | 'ApiFoundResponse'
  | 'ApiHeader'
  | 'ApiOkResponse'
  | 'ApiOperation'
  | 'ApiParam'
  | 'ApiProduces'
  | 'ApiQuery'
  | 'ApiResponse'
  | 'ApiTags';

/** How TypeScript calls a class decorator (target only) or a method decorator (all three). */
type Decorate = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => unknown;

interface Recorded {
  name: Name;
  args: unknown[];
  target: object;
  key?: string | symbol;
  descriptor?: PropertyDescriptor;
}

const recorded: Recorded[] = [];
let swagger: typeof Swagger | undefined;

const run = (s: typeof Swagger, r: Recorded): void => {
  (s[r.name] as (...args: unknown[]) => Decorate)(...r.args)(r.target, r.key, r.descriptor);
};

/** @nestjs/swagger, with every decorator recorded so far written onto its class. */
export const loadSwagger = onFirstUse((): typeof Swagger => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const s = require('@nestjs/swagger') as typeof Swagger;
  for (const r of recorded.splice(0)) run(s, r);
  swagger = s;
  return s;
});

function deferred<K extends Name>(name: K): (typeof Swagger)[K] {
  const factory =
    (...args: unknown[]): Decorate =>
    (target, key, descriptor) => {
      const r = { name, args, target, key, descriptor };
      if (swagger) run(swagger, r);
      else recorded.push(r);
    };
  return factory as unknown as (typeof Swagger)[K];
}

export const ApiAcceptedResponse = deferred('ApiAcceptedResponse');
export const ApiBearerAuth = deferred('ApiBearerAuth');
export const ApiBody = deferred('ApiBody');
export const ApiConsumes = deferred('ApiConsumes');
export const ApiCookieAuth = deferred('ApiCookieAuth');
export const ApiCreatedResponse = deferred('ApiCreatedResponse');
export const ApiExcludeController = deferred('ApiExcludeController');
export const ApiFoundResponse = deferred('ApiFoundResponse');
export const ApiHeader = deferred('ApiHeader');
export const ApiOkResponse = deferred('ApiOkResponse');
export const ApiOperation = deferred('ApiOperation');
export const ApiParam = deferred('ApiParam');
export const ApiProduces = deferred('ApiProduces');
export const ApiQuery = deferred('ApiQuery');
export const ApiResponse = deferred('ApiResponse');
export const ApiTags = deferred('ApiTags');
