/**
 * OpenAI POST /v1/chat/completions (text and tool calls) and the legacy POST /v1/completions,
 * whole or as `data: {chunk}` events ending in `data: [DONE]`. With
 * `stream_options.include_usage`, every chunk carries `usage: null` and a last chunk with
 * `choices: []` carries the usage, as OpenAI does.
 */
import { missing, openaiHeaders, requireModel } from './openai';
import { Reply, RequestContext, asObject, dataEvent, json, seqId, sse } from './reply';
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
  toolCallOf,
} from './text';

type Body = Record<string, unknown>;

function usageOf(u: FakeUsage) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

interface ToolDef {
  type?: string;
  function?: { name?: string; parameters?: unknown };
}

/**
 * The tool to call: forced by tool_choice, or asked for by the last message when it is the
 * user's (after a tool's result the model answers in text, as a real one does).
 */
function chosenTool(b: Body): FakeToolCall | undefined {
  const tools = Array.isArray(b.tools) ? (b.tools as ToolDef[]).filter((t) => t?.type === 'function' && t.function?.name) : [];
  if (!tools.length || b.tool_choice === 'none') return undefined;
  const choice = b.tool_choice as { function?: { name?: string } } | string | undefined;
  const named = typeof choice === 'object' ? choice?.function?.name : undefined;
  let tool = named ? tools.find((t) => t.function!.name === named) : tools[0];
  if (!named && choice !== 'required') {
    const messages = b.messages as { role?: string; content?: unknown }[];
    const last = messages[messages.length - 1];
    if (last?.role !== 'user' || !asksForTool(plainText(last.content))) tool = undefined;
  }
  return tool && fakeToolCall(tool.function!.name!, tool.function!.parameters);
}

export function chatCompletions(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const model = requireModel(b);
  if (typeof model !== 'string') return model;
  if (!Array.isArray(b.messages) || b.messages.length === 0) return missing('messages');
  const stats = textStats(b.messages);
  const tool = ctx.toolCall ? toolCallOf(ctx.toolCall.name, ctx.toolCall.args) : chosenTool(b);
  const id = seqId('chatcmpl-fake', ctx.seq);
  const callId = seqId('call_fake', ctx.seq);
  const created = Math.floor(Date.now() / 1000);
  let text = '';
  let finish = 'tool_calls';
  if (!tool) {
    const cut = limitWords(fakeReplyText('openai', stats.words, stats.replyWords), b.max_completion_tokens ?? b.max_tokens);
    text = cut.text;
    finish = cut.truncated ? 'length' : 'stop';
  }
  const usage = usageOf(fakeUsage(stats, tool ? tool.outputTokens : countWords(text)));
  const headers = openaiHeaders(ctx.seq);
  const meta = { service_tier: 'default', system_fingerprint: 'fp_fake' };

  if (b.stream !== true) {
    const message = tool
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: callId, type: 'function', function: { name: tool.name, arguments: tool.argumentsJson } }],
          refusal: null,
          annotations: [],
        }
      : { role: 'assistant', content: text, refusal: null, annotations: [] };
    return json(
      200,
      { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage, ...meta },
      headers,
    );
  }

  const includeUsage = (b.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const chunk = (delta: unknown, finishReason: string | null = null) =>
    dataEvent({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      ...meta,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const chunks: string[] = [];
  if (tool) {
    const call = { index: 0, id: callId, type: 'function', function: { name: tool.name, arguments: '' } };
    chunks.push(chunk({ role: 'assistant', content: null, tool_calls: [call], refusal: null }));
    for (const piece of splitWords(tool.argumentsJson)) {
      chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
    }
  } else {
    chunks.push(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const word of splitWords(text)) chunks.push(chunk({ content: word }));
  }
  chunks.push(chunk({}, finish));
  if (includeUsage) chunks.push(dataEvent({ id, object: 'chat.completion.chunk', created, model, ...meta, choices: [], usage }));
  chunks.push(dataEvent('[DONE]'));
  return sse(chunks, headers);
}

/** POST /v1/completions (legacy): `choices[].text`, usage without details. */
export function completions(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const model = requireModel(b);
  if (typeof model !== 'string') return model;
  if (b.prompt === undefined || b.prompt === null) return missing('prompt');
  const stats = textStats(b.prompt);
  const cut = limitWords(fakeReplyText('openai', stats.words, stats.replyWords), b.max_tokens);
  const finish = cut.truncated ? 'length' : 'stop';
  const u = fakeUsage(stats, countWords(cut.text));
  const usage = { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
  const common = { id: seqId('cmpl-fake', ctx.seq), object: 'text_completion', created: Math.floor(Date.now() / 1000), model };
  const headers = openaiHeaders(ctx.seq);

  if (b.stream !== true) {
    return json(
      200,
      { ...common, choices: [{ text: cut.text, index: 0, logprobs: null, finish_reason: finish }], usage },
      headers,
    );
  }
  const includeUsage = (b.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const chunk = (text: string, finishReason: string | null) =>
    dataEvent({
      ...common,
      choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }],
      ...(includeUsage ? { usage: null } : {}),
    });
  const chunks = splitWords(cut.text).map((w) => chunk(w, null));
  chunks.push(chunk('', finish));
  if (includeUsage) chunks.push(dataEvent({ ...common, choices: [], usage }));
  chunks.push(dataEvent('[DONE]'));
  return sse(chunks, headers);
}
