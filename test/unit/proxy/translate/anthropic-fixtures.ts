/** Anthropic Messages API answers as the API sends them (shapes from its docs and SDK types). */
const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

const start = (usage: Record<string, unknown>) =>
  ev('message_start', {
    message: { id: 'msg_01', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage },
  });

/** Text, then a tool call whose JSON arrives in pieces, with cache figures and a ping. */
export const TOOL_STREAM =
  start({ input_tokens: 472, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 2 }) +
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
  `event: ping\ndata: {"type": "ping"}\n\n` +
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Okay, let me check ' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'the weather — ☀️.' } }) +
  ev('content_block_stop', { index: 0 }) +
  ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_01T1x', name: 'get_weather', input: {} } }) +
  ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }) +
  ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"location":' } }) +
  ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: ' "San Francisco, CA"}' } }) +
  ev('content_block_stop', { index: 1 }) +
  ev('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_02', name: 'get_time', input: {} } }) +
  ev('content_block_stop', { index: 2 }) +
  ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }) +
  ev('message_stop', {});

/** Thinking (which a chat completion has no place for), then text cut short by max_tokens. */
export const THINKING_STREAM =
  start({ input_tokens: 10, output_tokens: 1 }) +
  ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'secret plan' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'signature_delta', signature: 'EqQB' } }) +
  ev('content_block_stop', { index: 0 }) +
  ev('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }) +
  ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hello' } }) +
  ev('content_block_stop', { index: 1 }) +
  ev('message_delta', { delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { input_tokens: 12, output_tokens: 5 } }) +
  ev('message_stop', {});

export const ERROR_STREAM =
  start({ input_tokens: 10, output_tokens: 1 }) +
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hel' } }) +
  ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'lo' } });

export const CUT_STREAM =
  start({ input_tokens: 10, output_tokens: 1 }) +
  ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
  ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Hel' } });

export const TOOL_MESSAGE = {
  id: 'msg_01',
  type: 'message' as const,
  role: 'assistant' as const,
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'thinking', thinking: 'hidden', signature: 'x' },
    { type: 'text', text: 'Let me check.', citations: null },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { location: 'Paris' }, caller: { type: 'direct' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: { input_tokens: 21, cache_creation_input_tokens: 3, cache_read_input_tokens: 1000, output_tokens: 55, service_tier: 'standard' },
};
