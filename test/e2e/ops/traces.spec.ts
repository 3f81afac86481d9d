/**
 * Traces of a proxied request (issue 22): with OTEL_EXPORTER_OTLP_ENDPOINT set, one request
 * through the openai SDK reaches a local OTLP/HTTP receiver as one trace: a root span and its
 * auth, hold, upstream and settle children, with metadata attributes and no content (a canary
 * prompt is in no exported byte). Unset, no tracing is made at all.
 */
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { newCanary } from '../../support/canary-search';
import { openaiClient } from '../../support/proxy-formats';
import { OtlpReceiver, startOtlpReceiver } from '../../support/otlp-receiver';
import { waitFor } from '../../support/wait';
import { NO_TRACING, TRACING } from '../../../src/platform/tracing/tracing';

const CANARY = newCanary();
const MODEL = 'gpt-4o-mini';

describe('OpenTelemetry traces of a proxied request', () => {
  let fake: FakeUpstream;
  let receiver: OtlpReceiver;
  let gw: Gateway | undefined;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    receiver = await startOtlpReceiver();
    gw = await startGateway({ openai: fake, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'tollgate-test' } });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await receiver?.close();
  });

  it('exports auth, hold, upstream and settle spans under one root, with no content', async () => {
    const accountId = await gw!.account(50_000_000n);
    const { secret } = await gw!.key(accountId);
    const answer = await openaiClient(gw!.url, secret).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `trace me ${CANARY}` }] });
    expect(answer.choices.length).toBeGreaterThan(0);
    expect(JSON.stringify(fake.requests.map((r) => r.body))).toContain(CANARY); // the canary did travel
    // Closing the app flushes the batch (and proves shutdown exports what is pending).
    await gw!.close();
    gw = undefined;
    await waitFor(() => receiver.spans().some((s) => s.name === 'proxy.request'), 10_000, 'the root span to arrive');

    const spans = receiver.spans();
    const root = spans.find((s) => s.name === 'proxy.request')!;
    const children = spans.filter((s) => s.traceId === root.traceId && s.parentSpanId === root.spanId);
    expect(children.map((s) => s.name).sort()).toEqual(['auth', 'hold', 'settle', 'upstream']);
    expect(root.parentSpanId ?? '').toBe('');
    expect(root.attributes).toMatchObject({ 'tollgate.endpoint': 'openai.chat', 'tollgate.model': MODEL, 'http.response.status_code': 200 });
    const upstream = children.find((s) => s.name === 'upstream')!;
    expect(upstream.attributes['http.response.status_code']).toBe(200);
    expect(typeof upstream.attributes['tollgate.channel']).toBe('string');
    const all = receiver.bodies.join('\n');
    expect(all).toContain('tollgate-test'); // the service name: the search below reads real exports
    expect(all).not.toContain(CANARY);
    expect(all).not.toContain(secret);
    expect(all).not.toContain(accountId);
  });
});

describe('without OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('makes no tracer: the proxy gets the shared no-op', async () => {
    const gw = await startGateway();
    try {
      expect(gw.app.get(TRACING)).toBe(NO_TRACING);
    } finally {
      await gw.close();
    }
  });
});
