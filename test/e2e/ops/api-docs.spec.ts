/**
 * The account API's documentation as a reader gets it: the /docs page (with and without its
 * trailing slash) and every file it refers to, swagger-ui's start script carrying the whole
 * document, and the document as JSON and YAML. They are served by our own routes and built on
 * first use (src/platform/http/openapi.ts); what the document says of each route is tested
 * where the route lives (test/e2e/usage-api/account-reads.spec.ts and others).
 */
import { Gateway, startGateway } from '../../support/gateway';

describe('the API documentation (/docs, /openapi.json, /openapi.yaml)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it.each(['/docs', '/docs/', '/docs/index.html'])('serves %s, and every file it refers to', async (path) => {
    const page = await fetch(`${gw.url}${path}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.map((r) => r.split('/').pop())).toEqual(
      expect.arrayContaining(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui-init.js']),
    );
    for (const ref of refs) {
      const file = await fetch(new URL(ref, `${gw.url}${path}`));
      expect({ ref, status: file.status }).toEqual({ ref, status: 200 });
      expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it('starts swagger-ui on the whole document, the same as /openapi.json', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { openapi: string; info: { title: string }; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.0.0');
    expect(doc.info.title).toBe('Tollgate account API');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/balance', '/api/keys/{id}/revoke']));

    const init = await fetch(`${gw.url}/docs/swagger-ui-init.js`);
    expect(init.headers.get('content-type')).toMatch(/^application\/javascript/);
    const js = await init.text();
    expect(js).toContain('SwaggerUIBundle(');
    expect(js).toContain(JSON.stringify(doc));
  });

  it('serves the document as YAML too', async () => {
    const res = await fetch(`${gw.url}/openapi.yaml`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/yaml/);
    const yaml = await res.text();
    expect(yaml).toMatch(/^openapi: 3\.0\.0$/m);
    expect(yaml).toMatch(/^ {2}\/api\/keys\/\{id\}\/revoke:$/m);
  });

  it("does not serve swagger-ui's license file as a page of ours", async () => {
    expect((await fetch(`${gw.url}/docs/LICENSE`)).status).toBe(404);
  });
});
