/**
 * What the Anthropic and Gemini stream translators share: one ChunkWriter per answer, the
 * finish reason once the provider has given one, and the end of the stream (the usage chunk if
 * asked for, then [DONE]; or an error when the upstream stopped short or failed). Each
 * subclass reads its provider's events in push().
 */
import type { SseEvent } from '../streaming/sse';
import { ChunkWriter, OpenAIErrorBody, OpenAIFinishReason, OpenAIUsage, StreamContext } from './openai-wire';

export abstract class OpenaiChunkStream {
  protected readonly out: ChunkWriter;
  protected finish: OpenAIFinishReason | null = null;
  protected failed = false;

  constructor(protected readonly ctx: StreamContext) {
    this.out = new ChunkWriter(ctx);
  }

  /** The provider's usage as read so far (final once the stream is complete). */
  abstract get usage(): OpenAIUsage;

  /** One upstream event → the chunks it makes (none once the stream has failed). */
  abstract push(ev: SseEvent): SseEvent[];

  /** True once the provider has said why it stopped. */
  get complete(): boolean {
    return this.finish !== null;
  }

  /** After the upstream ended: the usage chunk (if asked for) and [DONE], or an error if it was cut short. */
  end(): SseEvent[] {
    if (this.failed) return [];
    if (this.finish === null) {
      return this.fail({ message: 'The upstream stream ended before the answer was complete.', type: 'api_error', param: null, code: 'upstream_incomplete' });
    }
    return this.ctx.includeUsage ? [this.out.usage(this.usage), this.out.done()] : [this.out.done()];
  }

  /** An upstream event that could not be read: the stream fails with an error the SDK raises. */
  protected malformed(): SseEvent[] {
    return this.fail({ message: 'The upstream sent an event that is not JSON.', type: 'api_error', param: null, code: 'upstream_malformed' });
  }

  protected fail(error: OpenAIErrorBody['error']): SseEvent[] {
    this.failed = true;
    return [this.out.error({ error })];
  }
}
