/**
 * OpenAI chat request → Anthropic Messages request. What translates and what is refused is
 * listed in this folder's README; the refusals shared with Gemini live in openai-request.ts.
 */
import type { ImagePart, TextPart, Turn } from './openai-messages';
import { ChatRequest, readChatRequest } from './openai-request';
import { invalid, unsupported } from './translation-error';

/**
 * The anthropic-version to send with a translated request. From 2026-10-21 on, Anthropic
 * rejects temperature and top_p outright; with this version they are translated.
 */
export const ANTHROPIC_TRANSLATION_VERSION = '2023-06-01';

export interface AnthropicRequestOptions {
  /** max_tokens when the client gave none (Anthropic requires it): the model's max output. */
  defaultMaxTokens: number;
  /** The anthropic-version header the caller will send (default ANTHROPIC_TRANSLATION_VERSION). */
  anthropicVersion?: string;
}

export interface TranslatedRequest {
  body: Record<string, unknown>;
  stream: boolean;
  includeUsage: boolean;
}

type Block = Record<string, unknown>;

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

export function openaiChatToAnthropic(input: unknown, opts: AnthropicRequestOptions): TranslatedRequest {
  const req = readChatRequest(input, 'Anthropic');
  refuseUnsupported(req, opts.anthropicVersion ?? ANTHROPIC_TRANSLATION_VERSION);

  const body: Record<string, unknown> = { model: req.model, max_tokens: req.maxTokens ?? opts.defaultMaxTokens };
  const system = req.system.filter(nonBlank).map(textBlock);
  if (system.length) body.system = system;
  body.messages = messages(req.turns);
  if (req.stop) body.stop_sequences = req.stop;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.tools.length) {
    body.tools = req.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined && { description: t.description }),
      input_schema: t.parameters ?? { type: 'object', properties: {} },
      ...(t.strict && { strict: true }),
    }));
    const choice = toolChoice(req);
    if (choice) body.tool_choice = choice;
  }
  if (req.responseFormat?.type === 'json_schema') {
    body.output_config = { format: { type: 'json_schema', schema: req.responseFormat.schema } };
  }
  if (req.endUser !== undefined) body.metadata = { user_id: req.endUser };
  if (req.serviceTier === 'default') body.service_tier = 'standard_only';
  if (req.stream) body.stream = true;
  return { body, stream: req.stream, includeUsage: req.includeUsage };
}

function refuseUnsupported(req: ChatRequest, version: string): void {
  if (req.seed !== undefined) throw unsupported('seed', 'seed is not available for Anthropic models.');
  if (req.presencePenalty) throw unsupported('presence_penalty', 'presence_penalty is not available for Anthropic models.');
  if (req.frequencyPenalty) throw unsupported('frequency_penalty', 'frequency_penalty is not available for Anthropic models.');
  if (req.reasoningEffort !== undefined && req.reasoningEffort !== 'none') {
    throw unsupported('reasoning_effort', 'reasoning_effort cannot be translated for Anthropic models.');
  }
  if (req.responseFormat?.type === 'json_object') {
    throw unsupported('response_format', 'JSON mode (json_object) is not available for Anthropic models; use a json_schema response_format.');
  }
  if (req.responseFormat?.type === 'json_schema' && !req.responseFormat.schema) {
    throw invalid('response_format.json_schema.schema', 'A json_schema response_format needs a schema for Anthropic models.');
  }
  // Date-named versions compare correctly as strings.
  const sampling = version >= '2026-10-21';
  if (req.temperature !== undefined && (sampling || req.temperature > 1)) {
    throw unsupported('temperature', sampling ? 'temperature is not accepted by this Anthropic API version.' : 'Anthropic models take a temperature from 0 to 1.');
  }
  if (req.topP !== undefined && sampling) throw unsupported('top_p', 'top_p is not accepted by this Anthropic API version.');
}

/** Anthropic rejects empty and whitespace-only text blocks, so those parts are left out. */
const nonBlank = (p: TextPart): boolean => p.text.trim() !== '';

function textBlock(p: TextPart): Block {
  return { type: 'text', text: p.text, ...(p.cache && { cache_control: { type: 'ephemeral' } }) };
}

function imageBlock(p: ImagePart): Block {
  const s = p.source;
  if (s.kind === 'url') return { type: 'image', source: { type: 'url', url: s.url }, ...(p.cache && { cache_control: { type: 'ephemeral' } }) };
  if (!IMAGE_TYPES.includes(s.mediaType)) {
    throw unsupported(p.path, `Anthropic models take images of type ${IMAGE_TYPES.join(', ')}, not ${s.mediaType}.`);
  }
  return {
    type: 'image',
    source: { type: 'base64', media_type: s.mediaType, data: s.data },
    ...(p.cache && { cache_control: { type: 'ephemeral' } }),
  };
}

function turnBlocks(t: Turn): { role: 'user' | 'assistant'; blocks: Block[] } {
  switch (t.role) {
    case 'user':
      return { role: 'user', blocks: t.parts.filter((p) => p.type === 'image' || nonBlank(p)).map((p) => (p.type === 'image' ? imageBlock(p) : textBlock(p))) };
    case 'assistant':
      return {
        role: 'assistant',
        blocks: [
          ...t.parts.filter(nonBlank).map(textBlock),
          ...t.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args })),
        ],
      };
    case 'tool': {
      const content = typeof t.content === 'string' ? t.content : t.content.filter(nonBlank).map(textBlock);
      return { role: 'user', blocks: [{ type: 'tool_result', tool_use_id: t.toolCallId, content }] };
    }
  }
}

/** Anthropic wants user and assistant turns to alternate: consecutive turns of one role merge. */
function messages(turns: Turn[]): Array<{ role: string; content: Block[] }> {
  const out: Array<{ role: string; content: Block[] }> = [];
  let lastIndex = -1;
  for (const t of turns) {
    const { role, blocks } = turnBlocks(t);
    if (!blocks.length) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
    lastIndex = t.index;
  }
  if (!out.length) throw invalid('messages', '`messages` needs at least one user message with content.');
  if (out[out.length - 1].role === 'assistant') {
    throw unsupported(
      `messages[${lastIndex}].role`,
      'The last message must not be an assistant message: an Anthropic model would continue it (prefill) instead of answering it.',
    );
  }
  return out;
}

function toolChoice(req: ChatRequest): Block | undefined {
  const c = req.toolChoice;
  if (c === 'none') return { type: 'none' };
  const noParallel = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (c === undefined || c === 'auto') return req.parallelToolCalls === false || c === 'auto' ? { type: 'auto', ...noParallel } : undefined;
  if (c === 'required') return { type: 'any', ...noParallel };
  return { type: 'tool', name: c.name, ...noParallel };
}

// One import path for the whole Anthropic translation (the answer side lives in its own file).
export type { AnthropicMessage } from './anthropic-to-openai';
export {
  AnthropicToOpenaiStream,
  anthropicErrorToOpenai,
  anthropicFinishReason,
  anthropicMessageToOpenaiChat,
  anthropicUsageToOpenai,
} from './anthropic-to-openai';
