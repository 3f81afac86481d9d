/**
 * `GET /api/assistant`: the model the assistant asks and its provider, for the panel's notice.
 * `POST /api/assistant {messages}`: the dashboard assistant. A signed-in person only (session
 * cookie, with the CSRF token and Origin rules of every cookie write; not a management key).
 * Refusals before the answer starts are the account API's JSON errors (401, 403 `csrf`, 400
 * `validation_failed`, 503 `assistant_not_configured`); after that the answer is SSE
 * (README: "The dashboard assistant"), and a failure is an `error` event.
 *
 * The person leaving (the connection closes) or ASSISTANT_TIMEOUT_MS passing aborts the call
 * under way; the proxy then settles it for what it delivered, as for any client that leaves.
 */
import { Body, Controller, Get, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '../../platform/http/openapi-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { ApiError } from '../../platform/http/api-error';
import { ApiErrors } from '../../platform/http/openapi';
import { AccountApi, CurrentPrincipal, SessionOnly } from '../../auth/http/account-guard';
import { Principal } from '../../auth/http/principal';
import { actorOf } from '../../keys/http/principal-actor';
import { formatSse } from '../../proxy/streaming/sse';
import { AssistantEvent, answerQuestion } from '../application/assistant-conversation';
import { AssistantKeyService } from '../application/assistant-key.service';
import { AssistantToolsService } from '../application/assistant-tools.service';
import { GatewayClient } from '../application/gateway-client';
import { PriceBook } from '../../proxy/pricing/price-book.service';
import { jsonSchema } from '../../platform/http/openapi';
import { z } from 'zod';
import { parseAssistantInput } from '../domain/assistant-input';

const assistantInfoSchema = z.object({
  model: z.string().describe('ASSISTANT_MODEL'),
  provider: z.string().nullable().describe("the price table's provider of that model (openai, anthropic, gemini, xai, openai-compatible)"),
});

@ApiTags('assistant')
@AccountApi()
@SessionOnly()
@Controller('api/assistant')
export class AssistantController {
  private readonly log = new Logger('Assistant');

  constructor(
    private readonly keys: AssistantKeyService,
    private readonly gateway: GatewayClient,
    private readonly tools: AssistantToolsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly prices: PriceBook,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Which model the assistant asks, and its provider (the dashboard says so before the first question)',
    description: '503 assistant_not_configured when ASSISTANT_MODEL is unset. `provider` is null when the price table does not know the model.',
  })
  @ApiOkResponse({ schema: jsonSchema(assistantInfoSchema) })
  @ApiErrors('assistant_not_configured')
  info(): z.infer<typeof assistantInfoSchema> {
    const model = this.model();
    let provider: string | null = null;
    try {
      provider = this.prices.at(this.clock.now()).get(model)?.provider ?? null;
    } catch {
      // prices not loaded yet: the model's name is still worth saying
    }
    return { model, provider };
  }

  private model(): string {
    if (!this.config.ASSISTANT_MODEL) throw new ApiError('assistant_not_configured', 'the assistant is not configured on this gateway (ASSISTANT_MODEL)');
    return this.config.ASSISTANT_MODEL;
  }

  @Post()
  @ApiOperation({
    summary: 'Ask the dashboard assistant about your account (read-only); answered as server-sent events',
    description:
      'The conversation goes to the model ASSISTANT_MODEL through this gateway, billed to your account under the key named `assistant`; it is not stored.',
  })
  @ApiBody({ schema: { type: 'object', properties: { messages: { type: 'array', items: { type: 'object', properties: { role: { enum: ['user', 'assistant'] }, content: { type: 'string' } } } } } } })
  @ApiOkResponse({
    description: 'events `text` {delta}, `tool` {name, status}, `error` {code, message, status?, requestId?}, `done` {requestIds}',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiErrors('validation_failed', 'assistant_not_configured')
  async ask(@CurrentPrincipal() me: Principal, @Body() body: unknown, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    this.model();
    const turns = parseAssistantInput(body, { maxMessages: this.config.ASSISTANT_MAX_MESSAGES, maxChars: this.config.ASSISTANT_MAX_INPUT_CHARS });
    const key = await this.keys.keyOf(me.accountId, actorOf(me));

    const res = reply.raw;
    const gone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(this.config.ASSISTANT_TIMEOUT_MS)]);
    reply.hijack();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    const send = (e: AssistantEvent) => {
      if (!res.destroyed) res.write(formatSse({ event: e.event, data: JSON.stringify(e.data) }));
    };
    try {
      await answerQuestion(
        { turns, cookie: request.headers.cookie ?? '', secret: key.secret, signal, now: this.clock.now(), send },
        this.gateway,
        this.tools,
        this.config,
      );
    } catch (err) {
      if (gone.signal.aborted) return; // the person left: nobody to tell
      const timedOut = signal.aborted;
      // The error's name only: its message may quote what it choked on, and logs never get content.
      if (!timedOut) this.log.error(`assistant question failed: ${(err as Error)?.name ?? 'error'}`);
      send({
        event: 'error',
        data: timedOut
          ? { code: 'assistant_timeout', message: `no answer within ${this.config.ASSISTANT_TIMEOUT_MS} ms` }
          : { code: 'internal', message: 'something went wrong on our side; it has been logged' },
      });
    } finally {
      if (!res.destroyed) res.end();
    }
  }
}
