/**
 * The proxy: endpoints in each provider's format, routing over channels, pricing, metering and
 * billing through the ledger. Its routes are registered on Fastify directly (ProxyRoutes).
 */
import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { RetriedStartup } from '../platform/startup/retried-startup';
import { APP_CONFIG, AppConfig } from '../config/config';
import { LedgerModule } from '../ledger/ledger.module';
import { KeysModule } from '../keys/keys.module';
import { RedisModule } from '../platform/redis/redis.module';
import { ChannelsModule } from './channels/channels.module';
import { CHANNEL_SEEDER_PROVIDERS } from './channels/channel-seeder';
import { PriceBook } from './pricing/price-book.service';
import { marginBpsFromPercent } from './pricing/cost';
import { RateLimiter } from './limits/rate-limiter';
import { AuthFailureLimiter } from './limits/auth-failure-limiter';
import { SpendCaps } from './limits/spend-caps';
import { KeySpendRepository } from './limits/key-spend.repository';
import { BillingService } from './billing/billing.service';
import { SettleJournal } from './billing/settle-journal';
import { WRITE_KEEPER } from './billing/settle-journal.codec';
import { UpstreamClient } from './upstream/upstream-client';
import { UpstreamSender } from './upstream/upstream-sender';
import { RequestLogRepository } from './usage/request-log.repository';
import { ProxyService } from './proxy.service';
import { CatalogService } from './catalog.service';
import { ProxyRoutes } from './http/proxy-routes';
import { PublicPricingController } from './pricing/http/public-pricing.controller';
import { ProxyMetrics } from './proxy-metrics';
import { UsageDayKeysModule } from '../compliance/retention/usage-day-keys.module';

/** At start: this release's price table (with the configured margin) is in force before the first request. */
@Injectable()
class PriceTableSeeder implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly startup: RetriedStartup;

  constructor(prices: PriceBook, @Inject(APP_CONFIG) config: AppConfig) {
    this.startup = new RetriedStartup(new Logger('Prices'), 'publishing the shipped price table', () =>
      prices.seedShipped(marginBpsFromPercent(config.PRICE_MARGIN_PERCENT)),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.startup.start();
  }

  onModuleDestroy(): void {
    this.startup.stop();
  }
}

@Module({
  imports: [LedgerModule, KeysModule, RedisModule, ChannelsModule, UsageDayKeysModule],
  controllers: [PublicPricingController],
  providers: [
    PriceBook,
    PriceTableSeeder,
    ...CHANNEL_SEEDER_PROVIDERS,
    RateLimiter,
    AuthFailureLimiter,
    SpendCaps,
    KeySpendRepository,
    BillingService,
    SettleJournal,
    { provide: WRITE_KEEPER, useExisting: SettleJournal },
    UpstreamClient,
    UpstreamSender,
    RequestLogRepository,
    ProxyService,
    CatalogService,
    ProxyRoutes,
    ProxyMetrics,
  ],
  exports: [PriceBook, RequestLogRepository],
})
export class ProxyModule {}
