/**
 * The set-up every "Postgres really stopped under the gateway" test shares: a private Postgres
 * cluster (one the test may stop and start), the fake upstream, and a gateway on both; and the
 * teardown that closes them in order (gateway, its database, the upstream, the cluster) even when
 * the set-up failed half-way.
 */
import { FakeUpstream, startFakeUpstream } from './fake-upstream';
import { Gateway, GatewayOptions, startGateway } from './gateway';
import { PrivatePostgres, privateDb, startPrivatePostgres } from './private-postgres';

export interface PrivateGateway {
  pg: PrivatePostgres;
  fake: FakeUpstream;
  gw: Gateway;
}

export type UpstreamSlot = 'openai' | 'anthropic' | 'gemini';

/** The fake upstream serves the given providers (OpenAI's alone by default). */
export async function startPrivateGateway(providers: UpstreamSlot[] = ['openai'], opts: Omit<GatewayOptions, 'db' | UpstreamSlot> = {}): Promise<PrivateGateway> {
  const pg = await startPrivatePostgres();
  try {
    const fake = await startFakeUpstream();
    try {
      const upstreams = Object.fromEntries(providers.map((p) => [p, fake]));
      const gw = await startGateway({ ...opts, ...upstreams, db: await privateDb(pg) });
      return { pg, fake, gw };
    } catch (err) {
      await fake.close();
      throw err;
    }
  } catch (err) {
    pg.destroy();
    throw err;
  }
}

/** Closes what `startPrivateGateway` started; what is missing (a failed set-up) is skipped. */
export async function closePrivateGateway(p: Partial<PrivateGateway> | undefined): Promise<void> {
  await p?.gw?.close().catch(() => undefined);
  await p?.gw?.db.drop();
  await p?.fake?.close();
  p?.pg?.destroy();
}
