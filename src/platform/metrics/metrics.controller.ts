/** GET /metrics on the API: the Prometheus exposition of this process (bearer METRICS_TOKEN when set). */
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '../http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { unauthenticated } from '../http/api-error';
import { metricsAllowed } from './metrics-access';
import { MetricsRegistry } from './metrics-registry';

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('metrics')
  async scrape(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (!metricsAllowed(this.config.METRICS_TOKEN, req.headers.authorization)) {
      // Answered here in the account API's error shape: /metrics is outside the paths its filter maps.
      const e = unauthenticated('send the metrics token: Authorization: Bearer <METRICS_TOKEN>');
      void reply.code(e.status).header('www-authenticate', 'Bearer').send({ error: { code: e.code, message: e.message } });
      return;
    }
    const text = await this.metrics.scrape();
    void reply.code(200).header('content-type', this.metrics.contentType).header('cache-control', 'no-store').send(text);
  }
}
