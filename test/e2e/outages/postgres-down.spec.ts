/**
 * Postgres really stopped (a private cluster this file owns, `pg_ctl -m immediate stop`): a
 * new request is answered at once with 503 `unavailable` and retry-after, in each API's own
 * shape, whether its key is already known to the process or has to be looked up.
 */
import { FakeUpstream } from '../../support/fake-upstream';
import { Gateway } from '../../support/gateway';
import { PrivatePostgres, whyNoPrivatePostgres } from '../../support/private-postgres';
import { closePrivateGateway, startPrivateGateway } from '../../support/private-gateway';
import { FORMATS, expectGatewayError, rawCall, sdkCall } from '../../support/proxy-formats';
import { SettleJournal } from '../../../src/proxy/billing/settle-journal';

const skipReason = whyNoPrivatePostgres();

if (skipReason) {
  console.warn(`SKIPPED postgres-down: ${skipReason}`);
  it.skip(`Postgres down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('Postgres down: new requests', () => {
    let pg: PrivatePostgres;
    let fake: FakeUpstream;
    let gw: Gateway;

    beforeAll(async () => {
      ({ pg, fake, gw } = await startPrivateGateway(['openai', 'anthropic', 'gemini']));
    });
    afterAll(() => closePrivateGateway({ pg, fake, gw }));

    it('get 503 unavailable with retry-after in each format within a second, known key or not', async () => {
      const accountId = await gw.account(10_000_000n);
      const known = await gw.key(accountId);
      const unknown = await gw.key(accountId);
      for (const format of FORMATS) await sdkCall(gw.url, known.secret, format); // the key and the account are cached now
      await gw.requests(accountId, FORMATS.length); // and their rows written: only the refusals' rows meet the outage

      pg.stop();
      try {
        for (const format of FORMATS) {
          for (const secret of [known.secret, unknown.secret]) {
            const started = Date.now();
            const a = await rawCall(gw.url, format, { secret });
            expect(Date.now() - started).toBeLessThan(1000);
            expectGatewayError(a, format, 503, 'unavailable');
            expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          }
        }
        // Their rows (metadata of the refusals) are kept on disk until Postgres is back.
        const journal = gw.app.get(SettleJournal);
        for (const deadline = Date.now() + 5_000; journal.size < FORMATS.length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
        expect(journal.size).toBe(FORMATS.length);
      } finally {
        await pg.start();
      }
      // And once it is back, requests are served again, and the refusals' rows (kept in the
      // settle journal meanwhile) are in the request log.
      for (const format of FORMATS) expect(await sdkCall(gw.url, known.secret, format)).toContain('Hello');
      const rows = await gw.requests(accountId, 9, 5_000);
      expect(rows.filter((r) => r.status === 503).map((r) => r.error_code)).toEqual(['unavailable', 'unavailable', 'unavailable']);
    });
  });
}
