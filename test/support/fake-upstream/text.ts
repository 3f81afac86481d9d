/**
 * The fake upstream's arithmetic, exported so tests compute the usage (and so the cost) they
 * expect with the very rules the fake answers by.
 *
 * - Input tokens = whitespace-separated words (JavaScript's `\s`) across the request's text:
 *   every string (or token-id number) inside the endpoint's content fields (OpenAI chat
 *   `messages`, completions `prompt`, embeddings `input`, responses `instructions` + `input`,
 *   Anthropic `system` + `messages`, Gemini `systemInstruction` + `contents`) that sits at a
 *   key named text, content, input, prompt, instructions, system or output, or directly in
 *   such an array. Roles, ids, names, tool arguments and image data are not counted.
 * - Output tokens = words of the reply text; for a tool call, words of `<name> <arguments JSON>`.
 * - Markers in the text (they count as words too):
 *   `[cached]`      half the input tokens (rounded down) are reported as cache reads;
 *   `[cache-write]` half (of what is left) as cache writes — Anthropic only reports those;
 *   `[reply:N]`     the reply has exactly N words (padded with "more"), N ≤ 100000.
 * - The reply never echoes the prompt: `Hello from fake-<provider>: <N> words received`.
 */

export type ProviderName = 'openai' | 'anthropic' | 'gemini';

export interface TextStats {
  /** Input tokens: words across the request's text. */
  words: number;
  /** The text holds `[cached]`. */
  cached: boolean;
  /** The text holds `[cache-write]`. */
  cacheWrite: boolean;
  /** From `[reply:N]`, when present. */
  replyWords?: number;
}

export interface FakeUsage {
  /** All input tokens, cached ones included. */
  input: number;
  /** Of `input`, read from the prompt cache. */
  cached: number;
  /** Of `input`, written to the prompt cache. */
  cacheWrite: number;
  output: number;
}

const TEXT_KEYS = new Set(['text', 'content', 'input', 'prompt', 'instructions', 'system', 'output']);
const REPLY_MARKER = /\[reply:(\d{1,6})\]/;

function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** Words as `text.split(/\s+/).filter(Boolean).length`, without the garbage. */
export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

function emptyStats(): TextStats {
  return { words: 0, cached: false, cacheWrite: false };
}

function walk(value: unknown, counted: boolean, stats: TextStats): void {
  if (typeof value === 'string') {
    if (!counted) return;
    stats.words += countWords(value);
    if (value.includes('[')) {
      if (value.includes('[cached]')) stats.cached = true;
      if (value.includes('[cache-write]')) stats.cacheWrite = true;
      const m = REPLY_MARKER.exec(value);
      if (m) stats.replyWords = Number(m[1]);
    }
  } else if (typeof value === 'number') {
    if (counted) stats.words += 1; // a token id, as embeddings and completions accept
  } else if (Array.isArray(value)) {
    for (const v of value) walk(v, counted, stats);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, TEXT_KEYS.has(k), stats);
  }
}

/** Word count and markers of the given content fields (each root counts as text). */
export function textStats(...roots: unknown[]): TextStats {
  const stats = emptyStats();
  for (const r of roots) walk(r, true, stats);
  return stats;
}

/** Plain text of one message's content (string, or parts with a `text`). */
export function plainText(content: unknown): string {
  const stats: string[] = [];
  const visit = (v: unknown, counted: boolean): void => {
    if (typeof v === 'string') {
      if (counted) stats.push(v);
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, counted));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) visit(x, TEXT_KEYS.has(k));
  };
  visit(content, true);
  return stats.join(' ');
}

/** Whether a last user message asks for the tool (case-insensitive "use the tool"). */
export function asksForTool(lastUserText: string | undefined): boolean {
  return lastUserText !== undefined && lastUserText.toLowerCase().includes('use the tool');
}

export function fakeUsage(stats: TextStats, output: number): FakeUsage {
  const cached = stats.cached ? Math.floor(stats.words / 2) : 0;
  const cacheWrite = stats.cacheWrite ? Math.floor((stats.words - cached) / 2) : 0;
  return { input: stats.words, cached, cacheWrite, output };
}

/** The reply text for a request of `inputWords` words, before any max-tokens cut. */
export function fakeReplyText(provider: ProviderName, inputWords: number, replyWords?: number): string {
  const base = `Hello from fake-${provider}: ${inputWords} words received`;
  if (replyWords === undefined) return base;
  const words = base.split(' ');
  if (replyWords <= words.length) return words.slice(0, Math.max(1, replyWords)).join(' ');
  return base + ' more'.repeat(replyWords - words.length);
}

/** Cuts a reply to `max` words, as a provider stops at its max-tokens limit. */
export function limitWords(text: string, max: unknown): { text: string; truncated: boolean } {
  if (typeof max !== 'number' || !Number.isFinite(max) || max < 1) return { text, truncated: false };
  const words = text.split(' ');
  if (words.length <= max) return { text, truncated: false };
  return { text: words.slice(0, max).join(' '), truncated: true };
}

/** The stream deltas of a text: one per word, spaces kept, so they join back to the text. */
export function splitWords(text: string): string[] {
  return text.split(' ').map((w, i) => (i === 0 ? w : ' ' + w));
}

export interface FakeToolCall {
  name: string;
  args: Record<string, unknown>;
  /** The arguments as the fake sends them: `{"a": "fake", "b": 1}`, spaces between members. */
  argumentsJson: string;
  outputTokens: number;
}

function placeholder(schema: unknown): unknown {
  const t = (schema as { type?: unknown } | null)?.type ?? 'string';
  // As String() would read it: a list of types joined by commas, anything else no type we fill.
  const type = (typeof t === 'string' ? t : Array.isArray(t) ? t.join(',') : '').toLowerCase();
  if (type === 'number' || type === 'integer') return 1;
  if (type === 'boolean') return true;
  if (type === 'array') return [];
  if (type === 'object') return {};
  return 'fake';
}

/** The call the fake makes to a tool: every declared property filled with a placeholder. */
export function fakeToolCall(name: string, schema: unknown): FakeToolCall {
  const props = (schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  const args: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(props)) args[k] = placeholder(s);
  return toolCallOf(name, args);
}

/** A call with these arguments, spelled as the fake spells every call (see the 'tool-call' behaviour). */
export function toolCallOf(name: string, args: Record<string, unknown>): FakeToolCall {
  const members = Object.entries(args).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const argumentsJson = `{${members.join(', ')}}`;
  return { name, args, argumentsJson, outputTokens: countWords(name) + countWords(argumentsJson) };
}
