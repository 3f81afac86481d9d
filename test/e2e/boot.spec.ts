import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../../src/config/config';
import { createApiApp } from '../../src/create-api-app';
import { createLogger } from '../../src/platform/logging/logger';
import { freshDb, FreshDb } from '../support/fresh-db';

async function boot(env: Record<string, string>): Promise<{ app: NestFastifyApplication; url: string }> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env });
  const app = await createApiApp(config, createLogger(config, 'api'));
  await app.listen(config.PORT, config.HOST);
  return { app, url: await app.getUrl() };
}

describe('the API boots (Nest on Fastify, real Postgres)', () => {
  let db: FreshDb;
  beforeAll(async () => {
    db = await freshDb(2);
  });
  afterAll(() => db.drop());

  it('answers GET /health with {status:"ok"} after checking Postgres', async () => {
    const { app, url } = await boot({ DATABASE_URL: db.url });
    try {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      await app.close();
    }
  });

  it('answers 503 when Postgres cannot be reached, without failing to boot', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const { app, url } = await boot({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/tollgate' });
    try {
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable' });
    } finally {
      await app.close();
    }
  });
});
