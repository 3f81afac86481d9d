/**
 * The worker's /metrics: a plain HTTP listener at METRICS_PORT (the worker has no HTTP server
 * of its own), answering GET /metrics and nothing else. Unset: nothing listens. Closed when the
 * process stops, before the stores it reads.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Server, createServer } from 'node:http';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { metricsAllowed } from './metrics-access';
import { MetricsRegistry } from './metrics-registry';

@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Metrics');
  private server: Server | null = null;

  constructor(
    private readonly metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.METRICS_PORT;
    if (port === undefined) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const answer = (status: number, body: string, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(body);
      };
      if (path !== '/metrics') return answer(404, JSON.stringify({ error: { code: 'not_found', message: 'only GET /metrics is served here' } }));
      if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, JSON.stringify({ error: { code: 'method_not_allowed', message: 'use GET' } }));
      if (!metricsAllowed(this.config.METRICS_TOKEN, req.headers.authorization)) {
        return answer(401, JSON.stringify({ error: { code: 'unauthenticated', message: 'send the metrics token: Authorization: Bearer <METRICS_TOKEN>' } }));
      }
      this.metrics.scrape().then(
        (text) => answer(200, text, this.metrics.contentType),
        () => answer(500, JSON.stringify({ error: { code: 'internal_error', message: 'the metrics could not be collected' } })),
      );
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.log(`metrics at http://${this.config.HOST}:${port}/metrics`);
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The port it listens on (tests ask for METRICS_PORT of a free port). */
  address(): number | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : null;
  }
}
