/**
 * The channels module as the API wires it: the seeder (onModuleInit) writes env channels before
 * the directory (onApplicationBootstrap) loads them, so the first request can be routed.
 */
import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '../../../src/config/config';
import { ConfigModule } from '../../../src/config/config.module';
import { DatabaseModule } from '../../../src/platform/database/database.module';
import { EventStoreModule } from '../../../src/platform/event-store/event-store.module';
import { SecretBox } from '../../../src/platform/crypto/secret-box';
import { CHANNEL_SEEDER_PROVIDERS } from '../../../src/proxy/channels/channel-seeder';
import { ChannelRouter } from '../../../src/proxy/channels/channel-router';
import { ChannelDirectory } from '../../../src/proxy/channels/channel-directory';
import { ChannelsModule } from '../../../src/proxy/channels/channels.module';
import { freshDb, FreshDb } from '../../support/fresh-db';
import { TEST_REDIS_URL } from '../../support/test-env';

describe('ChannelsModule with the seeder, as in the API', () => {
  let db: FreshDb;
  let app: INestApplicationContext;

  beforeAll(async () => {
    db = await freshDb(2);
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `test-channels-module-${randomUUID()}:`,
      OPENAI_API_KEY: 'sk-seeded-openai-0000001',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      XAI_API_KEY: 'xai-seeded-000000000002',
    });
    @Module({ imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, ChannelsModule], providers: [...CHANNEL_SEEDER_PROVIDERS] })
    class ApiLike {}
    app = await NestFactory.createApplicationContext(ApiLike, { logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('routes to the seeded channels from the first request, with their keys', () => {
    const router = app.get(ChannelRouter);
    expect(router.candidates('gpt-4o', ['openai', 'openai-compatible'])).toEqual([
      { id: expect.any(String), name: 'env-openai', provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-seeded-openai-0000001', models: [], priority: 0, weight: 1, maxConnections: null, http2: false },
    ]);
    expect(router.candidates('grok-4', ['xai']).map((c) => c.name)).toEqual(['env-xai']);
    expect(app.get(ChannelDirectory).list()).toHaveLength(2);
    expect(app.get(SecretBox).usesDevelopmentKey).toBe(true);
  });
});
