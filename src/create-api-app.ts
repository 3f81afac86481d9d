import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config/config';
import { proxyClientErrorHandler, proxyFrameworkErrors } from './proxy/http/proxy-client-error';
import { Logger, NestPinoLogger } from './platform/logging/logger';
import { httpServerOptions } from './platform/http/http-server-options';
import { trackInFlight } from './platform/http/in-flight-requests';
import { ApiErrorFilter } from './platform/http/api-error.filter';
import { setupOpenApi } from './platform/http/openapi';
import { serveDashboard } from './platform/http/web-dashboard';

/**
 * The API application, not yet listening: src/main.ts listens on HOST/PORT, the e2e tests on
 * port 0. Fastify's own logger stays off, so no request (and no body) is ever logged by it.
 * Errors on a connection before any route runs (a stalled request, oversized headers) are
 * answered in the shape of the API their path belongs to (proxy-client-error.ts).
 */
export async function createApiApp(config: AppConfig, logger: Logger): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(await AppModule.forRoot(config), new FastifyAdapter(
      httpServerOptions(config, { clientErrorHandler: proxyClientErrorHandler, frameworkErrors: proxyFrameworkErrors }),
    ), {
    logger: new NestPinoLogger(logger),
    bufferLogs: false,
    abortOnError: false, // the caller reports start-up failures (failedToStart)
  });
  // Before any route exists (they are registered when the app initialises): a stopping
  // process waits for every handler under way (see drain-before-close.hook.ts).
  trackInFlight(app.getHttpAdapter().getInstance());
  // The account API: session cookies, its one error shape (unknown /api routes included), and
  // its OpenAPI document at /openapi.json and /docs.
  await app.register(fastifyCookie);
  app.useGlobalFilters(new ApiErrorFilter(app.getHttpAdapter()));
  await setupOpenApi(app, config.PUBLIC_URL);
  // The dashboard's pages and files, on this origin (platform/http/web-dashboard.ts).
  await serveDashboard(app.getHttpAdapter().getInstance(), config, logger);
  return app;
}
