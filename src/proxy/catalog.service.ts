/**
 * GET /v1/models (OpenAI or Anthropic shape, by the anthropic-version header the Anthropic SDK
 * sends) and GET /v1beta/models (Gemini shape): the models this key may use, that some channel
 * serves, with their prices in the current price table.
 */
import { Injectable } from '@nestjs/common';
import { KeyPrincipal } from '../keys/application/api-key-authenticator';
import { ChannelRouter } from './channels/channel-router';
import { ApiFormat } from './http/proxy-error';
import { PriceBook } from './pricing/price-book.service';
import { ModelPrice } from './pricing/model-price';
import { customerRate, priceTableAt } from './pricing/price-quotes';
import { formatOfProvider } from './formats';

@Injectable()
export class CatalogService {
  constructor(
    private readonly prices: PriceBook,
    private readonly router: ChannelRouter,
  ) {}

  available(principal: KeyPrincipal, now: Date): { models: ModelPrice[]; marginBps: number; version: number } {
    const table = priceTableAt(this.prices, now);
    const models = table
      .models()
      .filter((m) => !principal.models || principal.models.includes(m.model))
      .filter((m) => this.router.candidates(m.model, [m.provider, 'openai-compatible']).length > 0)
      .sort((a, b) => a.model.localeCompare(b.model));
    return { models, marginBps: table.marginBps, version: table.version };
  }

  list(principal: KeyPrincipal, format: ApiFormat, now: Date): unknown {
    const { models, marginBps, version } = this.available(principal, now);
    const created = Math.floor(now.getTime() / 1000);
    if (format === 'anthropic') {
      const data = models.filter((m) => formatOfProvider(m.provider) === 'anthropic');
      return {
        data: data.map((m) => ({ type: 'model', id: m.model, display_name: m.model, created_at: new Date(0).toISOString() })),
        has_more: false,
        first_id: data[0]?.model ?? null,
        last_id: data[data.length - 1]?.model ?? null,
      };
    }
    if (format === 'gemini') {
      return {
        models: models
          .filter((m) => m.provider === 'gemini')
          .map((m) => ({
            name: `models/${m.model}`,
            displayName: m.model,
            inputTokenLimit: m.contextWindow,
            outputTokenLimit: m.maxOutputTokens,
            supportedGenerationMethods: ['generateContent', 'streamGenerateContent'],
          })),
      };
    }
    return {
      object: 'list',
      data: models.map((m) => ({
        id: m.model,
        object: 'model',
        created,
        owned_by: m.provider,
        // Credits per million tokens, margin included, as exact decimal strings.
        pricing: {
          price_version: version,
          input: customerRate(m.input, marginBps),
          output: customerRate(m.output, marginBps),
          cached_input: customerRate(m.cachedInput, marginBps),
          cache_write: customerRate(m.cacheWrite, marginBps),
        },
        context_window: m.contextWindow,
        max_output_tokens: m.maxOutputTokens,
      })),
    };
  }
}
