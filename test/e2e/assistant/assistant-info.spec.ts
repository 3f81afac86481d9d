/**
 * `GET /api/assistant`: which model the assistant asks and whose it is, so the panel can say
 * where the conversation goes before the first question. The real app, configured and not.
 */
import { ManagementKeysService } from '../../../src/keys/management/management-keys.service';
import { signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';

describe('GET /api/assistant (e2e)', () => {
  const gateways: Gateway[] = [];
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
  });
  const start = async (env: Record<string, string>) => {
    const gw = await startGateway({ env });
    gateways.push(gw);
    return gw;
  };

  it('names the configured model and the provider the price table gives it; nothing else', async () => {
    const gw = await start({ ASSISTANT_MODEL: 'claude-haiku-4-5' });
    const me = await signedIn(gw);
    const res = await me.fetch('/api/assistant');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: 'claude-haiku-4-5', provider: 'anthropic' });
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(JSON.stringify(doc.paths['/api/assistant'].get)).toContain('assistant_not_configured');
  }, 60_000);

  it('a model the price table does not know: its name, provider null', async () => {
    const gw = await start({ ASSISTANT_MODEL: 'house-model-7' });
    const me = await signedIn(gw);
    expect(await (await me.fetch('/api/assistant')).json()).toEqual({ model: 'house-model-7', provider: null });
  }, 60_000);

  it('not configured: 503 assistant_not_configured; signed out: 401; a management key: 403', async () => {
    const gw = await start({});
    const me = await signedIn(gw);
    const res = await me.fetch('/api/assistant');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('assistant_not_configured');

    expect((await fetch(`${gw.url}/api/assistant`)).status).toBe(401);
    const { secret } = await gw.app.get(ManagementKeysService).create({ userId: me.userId, accountId: me.accountId, name: 'script', actor: 'test' });
    expect((await fetch(`${gw.url}/api/assistant`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(403);
  }, 60_000);
});
