/** Feeds provider SSE bytes, cut at the given points, through a translator as the relay would. */
import { SseEvent, SseParser, formatSse } from '../../../../src/proxy/streaming/sse';
import type { OpenAIChatCompletionChunk } from '../../../../src/proxy/translate/openai-wire';

export interface StreamTranslator {
  push(ev: SseEvent): SseEvent[];
  end(): SseEvent[];
}

/** The events the client gets, given the upstream's wire text cut into pieces. */
export function translateWire(wire: string, t: StreamTranslator, cuts: number[] = []): SseEvent[] {
  const parser = new SseParser();
  const out: SseEvent[] = [];
  // Cut the bytes, as the network does: cutting the string could split a surrogate pair, which
  // no upstream can send (the parser itself reassembles characters split across chunks).
  const bytes = Buffer.from(wire);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let last = 0;
  const chunks: Buffer[] = [];
  for (const p of points) {
    chunks.push(bytes.subarray(last, p));
    last = p;
  }
  chunks.push(bytes.subarray(last));
  for (const chunk of chunks) for (const ev of parser.push(chunk)) out.push(...t.push(ev));
  for (const ev of parser.end()) out.push(...t.push(ev));
  out.push(...t.end());
  return out;
}

export const chunksOf = (events: SseEvent[]): OpenAIChatCompletionChunk[] =>
  events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as OpenAIChatCompletionChunk);

/** What a client rebuilds from the chunks: text, tool calls by index, finish reason, usage. */
export function accumulate(chunks: OpenAIChatCompletionChunk[]) {
  let content = '';
  let role: string | undefined;
  let finish: string | null = null;
  let usage: unknown = null;
  const tools: Array<{ id: string; name: string; arguments: string; extra?: unknown }> = [];
  for (const c of chunks) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      role ??= ch.delta.role;
      content += ch.delta.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
      for (const tc of ch.delta.tool_calls ?? []) {
        tools[tc.index] ??= { id: '', name: '', arguments: '' };
        const t = tools[tc.index];
        t.id += tc.id ?? '';
        t.name += tc.function?.name ?? '';
        t.arguments += tc.function?.arguments ?? '';
        if (tc.extra_content) t.extra = tc.extra_content;
      }
    }
  }
  return { role, content, finish, usage, tools };
}

export const sseText = (events: SseEvent[]): string => events.map(formatSse).join('');
