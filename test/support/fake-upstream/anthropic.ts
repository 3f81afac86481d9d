/**
 * Anthropic's wire format: POST /v1/messages (whole, or the message_start … message_stop
 * event stream) and POST /v1/messages/count_tokens. Auth by `x-api-key` or
 * `Authorization: Bearer`; `anthropic-version` is required. As Anthropic reports it, `usage.input_tokens` counts only the uncached input:
 * input_tokens + cache_read_input_tokens + cache_creation_input_tokens = all input words.
 */
import { Provider, Reply, RequestContext, asObject, json, namedEvent, seqId, sse } from './reply';
import {
  FakeToolCall,
  FakeUsage,
  asksForTool,
  countWords,
  fakeReplyText,
  fakeToolCall,
  fakeUsage,
  limitWords,
  plainText,
  splitWords,
  textStats,
} from './text';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

function anthropicError(status: number, message?: string): Reply {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const text = message ?? (status >= 500 ? 'Internal server error' : `Error ${status}`);
  return json(status, { type: 'error', error: { type, message: text } });
}

export const anthropic: Provider = {
  error: anthropicError,
  badJson: () => anthropicError(400, 'There was an error parsing the body of your request.'),
  // @anthropic-ai/sdk 1.x sends the API key as `Authorization: Bearer`; older clients and
  // curl examples use `x-api-key`. Anthropic takes either, so the fake does too.
  auth(ctx) {
    const header = ctx.headers['x-api-key'];
    const bearer = ctx.headers.authorization;
    if (header !== undefined) {
      if (header !== ctx.apiKey) return anthropicError(401, 'invalid x-api-key');
    } else if (bearer !== undefined) {
      if (bearer !== `Bearer ${ctx.apiKey}`) return anthropicError(401, 'Invalid bearer token');
    } else {
      return anthropicError(401, 'x-api-key header is required');
    }
    if (!ctx.headers['anthropic-version']) return anthropicError(400, 'anthropic-version: header is required');
    return undefined;
  },
};

function headers(seq: number) {
  return { 'request-id': seqId('req_fake', seq), 'anthropic-organization-id': 'fake-org' };
}

function usageOf(u: FakeUsage, output: number) {
  return {
    input_tokens: u.input - u.cached - u.cacheWrite,
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cached,
    output_tokens: output,
    service_tier: 'standard',
  };
}

interface ToolDef {
  name?: string;
  input_schema?: unknown;
}

function chosenTool(b: Record<string, unknown>): FakeToolCall | undefined {
  const tools = Array.isArray(b.tools) ? (b.tools as ToolDef[]).filter((t) => typeof t?.name === 'string') : [];
  const choice = b.tool_choice as { type?: string; name?: string } | undefined;
  if (!tools.length || choice?.type === 'none') return undefined;
  let tool = choice?.type === 'tool' ? tools.find((t) => t.name === choice.name) : tools[0];
  if (choice?.type !== 'tool' && choice?.type !== 'any') {
    const messages = b.messages as { role?: string; content?: unknown }[];
    const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
    if (!asksForTool(lastUser ? plainText(lastUser.content) : undefined)) tool = undefined;
  }
  return tool && fakeToolCall(tool.name!, tool.input_schema);
}

/** The refusal of a body missing a required field, or undefined. */
function invalid(b: Record<string, unknown>, needsMaxTokens: boolean): Reply | undefined {
  if (typeof b.model !== 'string' || !b.model) return anthropicError(400, 'model: Field required');
  if (needsMaxTokens && typeof b.max_tokens !== 'number') return anthropicError(400, 'max_tokens: Field required');
  if (!Array.isArray(b.messages)) return anthropicError(400, 'messages: Field required');
  return undefined;
}

export function countTokens(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const bad = invalid(b, false);
  if (bad) return bad;
  return json(200, { input_tokens: textStats(b.system ?? '', b.messages).words }, headers(ctx.seq));
}

export function messages(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const bad = invalid(b, true);
  if (bad) return bad;
  const model = b.model as string;
  const stats = textStats(b.system ?? '', b.messages);
  const tool = chosenTool(b);
  let text = '';
  let stop = 'tool_use';
  if (!tool) {
    const cut = limitWords(fakeReplyText('anthropic', stats.words, stats.replyWords), b.max_tokens);
    text = cut.text;
    stop = cut.truncated ? 'max_tokens' : 'end_turn';
  }
  const output = tool ? tool.outputTokens : countWords(text);
  const u = fakeUsage(stats, output);
  const id = seqId('msg_fake', ctx.seq);
  const toolId = seqId('toolu_fake', ctx.seq);
  const h = headers(ctx.seq);

  if (b.stream !== true) {
    const content = tool ? [{ type: 'tool_use', id: toolId, name: tool.name, input: tool.args }] : [{ type: 'text', text }];
    return json(
      200,
      { id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: usageOf(u, output) },
      h,
    );
  }

  const ev = (type: string, fields: Record<string, unknown>) => namedEvent(type, { type, ...fields });
  const start = {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageOf(u, 1),
    },
  };
  const chunks = [ev('message_start', start)];
  if (tool) {
    chunks.push(ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: toolId, name: tool.name, input: {} } }));
    chunks.push(ev('ping', {}));
    chunks.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '' } }));
    for (const piece of splitWords(tool.argumentsJson)) {
      chunks.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: piece } }));
    }
  } else {
    chunks.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    chunks.push(ev('ping', {}));
    for (const word of splitWords(text)) {
      chunks.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } }));
    }
  }
  chunks.push(
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } }),
    ev('message_stop', {}),
  );
  return sse(chunks, h);
}
