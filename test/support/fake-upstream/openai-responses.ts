/**
 * OpenAI POST /v1/responses: a `response` object, or its typed event stream (`event:` lines
 * and `sequence_number`s as OpenAI sends them). `max_output_tokens` below the reply length
 * ends the response `incomplete`. Nothing of the request's text (not even `instructions`,
 * which OpenAI would echo) is sent back.
 */
import { missing, openaiHeaders, requireModel } from './openai';
import { Reply, RequestContext, asObject, json, namedEvent, seqId, sse } from './reply';
import { countWords, fakeReplyText, fakeUsage, limitWords, splitWords, textStats } from './text';

export function responses(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const model = requireModel(b);
  if (typeof model !== 'string') return model;
  if (b.input === undefined || b.input === null) return missing('input');
  const stats = textStats(b.instructions ?? '', b.input);
  const cut = limitWords(fakeReplyText('openai', stats.words, stats.replyWords), b.max_output_tokens);
  const u = fakeUsage(stats, countWords(cut.text));
  const usage = {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.input + u.output,
  };
  const done = cut.truncated ? 'incomplete' : 'completed';
  const id = seqId('resp_fake', ctx.seq);
  const itemId = seqId('msg_fake', ctx.seq);
  const createdAt = Math.floor(Date.now() / 1000);
  const response = (status: string, output: unknown[], withUsage: boolean) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: null,
    max_output_tokens: b.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: b.store ?? true,
    temperature: b.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: b.top_p ?? 1,
    truncation: 'disabled',
    usage: withUsage ? usage : null,
    user: null,
    metadata: {},
  });
  const part = { type: 'output_text', annotations: [], logprobs: [], text: cut.text };
  const item = { id: itemId, type: 'message', status: done, role: 'assistant', content: [part] };
  const headers = openaiHeaders(ctx.seq);

  if (b.stream !== true) return json(200, response(done, [item], true), headers);

  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>) => namedEvent(type, { type, sequence_number: seq++, ...fields });
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  const chunks = [
    ev('response.created', { response: response('in_progress', [], false) }),
    ev('response.in_progress', { response: response('in_progress', [], false) }),
    ev('response.output_item.added', {
      output_index: 0,
      item: { id: itemId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
    }),
    ev('response.content_part.added', { ...at, part: { ...part, text: '' } }),
  ];
  for (const delta of splitWords(cut.text)) chunks.push(ev('response.output_text.delta', { ...at, delta, logprobs: [] }));
  chunks.push(
    ev('response.output_text.done', { ...at, text: cut.text, logprobs: [] }),
    ev('response.content_part.done', { ...at, part }),
    ev('response.output_item.done', { output_index: 0, item }),
    ev(`response.${done}`, { response: response(done, [item], true) }),
  );
  return sse(chunks, headers);
}
