/**
 * The most input tokens a request can be billed for, to size its hold: an upper bound that no
 * body can defeat, whatever its shape, computed in one pass without a tokenizer.
 *
 * Why bytes: every tokenizer the providers use (byte-level BPE: OpenAI, Anthropic, xAI;
 * SentencePiece with byte fallback: Gemini) emits at most one token per UTF-8 byte of text, and
 * a JSON string's decoded bytes never exceed its encoded bytes in the raw body. So the raw
 * body's length bounds the tokens of all its text, wherever it sits (odd shapes, strings where
 * objects belong, roles that are objects), and of the JSON a provider tokenizes as it is (tool
 * arguments and schemas, with their punctuation and numbers, which a count of string leaves
 * alone would miss). A tokenizer count is exact only for one tokenizer and, sampled, is
 * defeated by text that is dense only where no sample looks.
 *
 *   bound = min(contextWindow, rawBytes − media payload bytes
 *                              + PER_REQUEST + PER_OBJECT × objects
 *                              + maxImageTokens × images + BUILTIN_TOOL_TOKENS × built-in tools
 *                              + the provider's tool prompt when tools are given)
 *
 * - Overheads: what a provider adds around the text (role markers, separators, the tool-use
 *   system prompt). Every message, part and tool is a JSON object, so PER_OBJECT per object
 *   anywhere in the body covers them whatever their shape.
 * - Images: their payload (base64 or URL) is not text; each counts as the model's
 *   maxImageTokens (ModelPrice), or the whole context window when the price does not say.
 * - Input the body does not bound: files, PDFs and audio (a PDF's pages and an audio clip's
 *   seconds are not bounded by their bytes), anything referred to by id or URL
 *   (previous_response_id, conversation, a stored prompt, Gemini cachedContent, a container),
 *   and server-side tools that feed their results in (web search, file search, MCP, Google
 *   Search): the bound is the context window.
 * - Capped at the context window, once per input: a provider refuses a longer prompt, but
 *   takes a list of them (embeddings' `input`, legacy completions' `prompt`), each up to the
 *   window. (A server-side tool loop can bill more than one window; BillingService counts what
 *   a provider bills past a hold.)
 *
 * Nothing here is kept, logged or stored; the walk reads the parsed body in memory only.
 */
import { ModelPrice, Provider } from '../pricing/model-price';
import type { EndpointKind } from '../endpoints';

/** Per request: the reply primer and framing. */
export const PER_REQUEST = 8;
/** Per JSON object (message, content part, tool…): role and separator tokens around it. */
export const PER_OBJECT = 4;
/** A built-in client tool (Anthropic computer / bash / text editor, OpenAI local shell…): its definition is the provider's, up to ~750 tokens. */
export const BUILTIN_TOOL_TOKENS = 1_000;
/** The tool-use system prompt a provider adds when tools are given (Anthropic documents ~350). */
export const TOOLS_PROMPT_TOKENS: Record<Provider, number> = { anthropic: 400, openai: 40, xai: 40, gemini: 40, 'openai-compatible': 40 };

/** Tool types (prefixes) whose results the provider fetches and bills as input. */
const SERVER_TOOLS = ['web_search', 'web_fetch', 'code_execution', 'code_interpreter', 'file_search', 'mcp', 'image_generation'];
/** Gemini tool keys for declared functions; any other key is one of Google's own tools. */
const GEMINI_FUNCTION_KEYS = new Set(['functionDeclarations', 'function_declarations']);
/** Top-level fields that bring in input the body only refers to. */
const REFERENCES: Partial<Record<EndpointKind, string[]>> = {
  'openai.chat': ['web_search_options'],
  'openai.responses': ['previous_response_id', 'conversation'],
  'anthropic.messages': ['mcp_servers', 'container'],
  'anthropic.count_tokens': ['mcp_servers'],
  'gemini.generate': ['cachedContent', 'cached_content'],
  'gemini.stream': ['cachedContent', 'cached_content'],
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const byteLength = (v: unknown): number => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
const mime = (o: Json): string => {
  const m = o.mimeType ?? o.mime_type;
  return typeof m === 'string' ? m : '';
};

/** What a walk over a body found: its objects, media and tools, and whether its input is bounded at all. */
export class Walk {
  objects = 0;
  images = 0;
  builtinTools = 0;
  /** Bytes of media payloads, which are not text and are priced per part instead. */
  mediaBytes = 0;
  unbounded = false;
  /** Whether tools (or functions) are declared: the provider adds its tool prompt. */
  tools = false;
  /** The media payload strings, by how often each occurs (collected only for the precise bound, which must not tokenize them). */
  readonly mediaPayloads = new Map<string, number>();

  constructor(private readonly collectPayloads = false) {}

  image(payload: unknown): void {
    this.images++;
    this.mediaBytes += byteLength(payload);
    if (this.collectPayloads && typeof payload === 'string') this.mediaPayloads.set(payload, (this.mediaPayloads.get(payload) ?? 0) + 1);
  }

  /** Recognises media parts by their own shape, wherever they sit in the body. */
  visit(o: Json): void {
    this.objects++;
    switch (o.type) {
      case 'image_url': // OpenAI chat: { image_url: { url } } (or a bare string, as some clients send)
        return this.image(isObj(o.image_url) ? o.image_url.url : o.image_url);
      case 'input_image': // OpenAI responses: image_url (or file_id)
      case 'computer_screenshot':
        return this.image(o.image_url);
      case 'image': // Anthropic: source { type: base64, data } | { type: url } | { type: file }
        return this.image(isObj(o.source) ? o.source.data : undefined);
      case 'input_audio':
      case 'file':
      case 'input_file':
      case 'container_upload':
        this.unbounded = true;
        return;
      case 'document': {
        // Anthropic: a PDF (base64, url, file) is unbounded; a text or content document is text.
        const kind = isObj(o.source) ? o.source.type : undefined;
        if (kind !== 'text' && kind !== 'content') this.unbounded = true;
        return;
      }
    }
    // Gemini parts (camelCase or snake_case): inline bytes or a file URI, image or not.
    const inline = o.inlineData ?? o.inline_data;
    if (isObj(inline)) {
      if (mime(inline).startsWith('image/')) this.image(inline.data);
      else this.unbounded = true;
    }
    const file = o.fileData ?? o.file_data;
    if (isObj(file)) {
      if (mime(file).startsWith('image/')) this.images++;
      else this.unbounded = true;
    }
  }

  declaredTools(kind: EndpointKind, tools: unknown): boolean {
    if (!Array.isArray(tools) || tools.length === 0) return false;
    for (const t of tools) {
      if (!isObj(t)) continue;
      if (kind.startsWith('gemini.')) {
        if (Object.keys(t).some((k) => !GEMINI_FUNCTION_KEYS.has(k))) this.unbounded = true;
        continue;
      }
      const type = t.type;
      if (typeof type !== 'string' || type === 'function' || type === 'custom') continue;
      if (SERVER_TOOLS.some((s) => type.startsWith(s))) this.unbounded = true;
      else this.builtinTools++;
    }
    return true;
  }
}

/**
 * Walks a parsed body once, iteratively (a deeply nested body cannot overflow the stack),
 * visiting every object; `leaf` (for the precise bound) sees every key and every value that is
 * not an object or array.
 */
export function walkBody(kind: EndpointKind, body: unknown, leaf?: (v: string | number | boolean | null, isKey: boolean) => void): Walk {
  const b = isObj(body) ? body : {};
  const w = new Walk(leaf !== undefined);
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (const x of v) {
        if (x !== null && typeof x === 'object') stack.push(x);
        else if (leaf) leaf(x as string | number | boolean | null, false);
      }
    } else if (isObj(v)) {
      w.visit(v);
      for (const k in v) {
        const x = v[k];
        if (leaf) leaf(k, true);
        if (x !== null && typeof x === 'object') stack.push(x);
        else if (leaf) leaf(x as string | number | boolean | null, false);
      }
    } else if (leaf && v !== undefined) {
      leaf(v as string | number | boolean | null, false);
    }
  }
  for (const field of REFERENCES[kind] ?? []) if (b[field] !== undefined && b[field] !== null) w.unbounded = true;
  // The Responses API's `prompt` is a stored prompt template, referred to by id.
  if (kind === 'openai.responses' && isObj(b.prompt)) w.unbounded = true;
  w.tools = w.declaredTools(kind, b.tools) || w.declaredTools(kind, b.functions);
  return w;
}

/** The window: the context window once per prompt the request holds. */
export function inputWindow(kind: EndpointKind, body: unknown, price: Pick<ModelPrice, 'contextWindow'>): number {
  return price.contextWindow * inputCount(kind, isObj(body) ? body : {});
}

/** What a bound adds to the text's tokens: framing, objects, images, built-in tools, the tool prompt. */
export function overheadTokens(w: Walk, price: Pick<ModelPrice, 'provider' | 'contextWindow' | 'maxImageTokens'>): number {
  return (
    PER_REQUEST +
    PER_OBJECT * w.objects +
    (price.maxImageTokens ?? price.contextWindow) * w.images +
    BUILTIN_TOOL_TOKENS * w.builtinTools +
    (w.tools ? TOOLS_PROMPT_TOKENS[price.provider] : 0)
  );
}

/**
 * The input-token bound of a request (see the header): `rawBytes` is the body's length as it
 * came, `body` the same body parsed.
 */
export function inputTokenBound(
  kind: EndpointKind,
  body: unknown,
  rawBytes: number,
  price: Pick<ModelPrice, 'provider' | 'contextWindow' | 'maxImageTokens'>,
): number {
  const window = inputWindow(kind, body, price);
  const w = walkBody(kind, body);
  if (w.unbounded) return window;
  const text = Math.max(0, rawBytes - w.mediaBytes);
  return Math.min(window, text + overheadTokens(w, price));
}

/** How many prompts a request holds: a list of them for embeddings and legacy completions, else one. */
function inputCount(kind: EndpointKind, b: Json): number {
  const list = kind === 'openai.embeddings' ? b.input : kind === 'openai.completions' ? b.prompt : undefined;
  // A list of token ids is one prompt; a list of strings or of token lists is many.
  if (!Array.isArray(list) || list.length === 0 || typeof list[0] === 'number') return 1;
  return list.length;
}
