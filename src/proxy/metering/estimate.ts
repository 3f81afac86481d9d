/**
 * Token estimates with a tokenizer, for what the providers have not counted: the input and
 * output of a request whose usage is missing or unusable (a cut stream, a provider that did not
 * say, a count that is not a whole number), billed as an estimate and marked so. Counted with
 * OpenAI's o200k_base encoding (o200k.ts), walking the fields a provider bills as input,
 * plus small fixed overheads; other providers' tokenizers produce more tokens than o200k for the
 * same text, so a slack per provider is added.
 *
 * This is a charge, capped at the hold, so it aims at accuracy, not at a bound: texts over
 * EXACT_LIMIT_CHARS are sampled, and text dense only where no sample looks is under-counted.
 * Holds are not sized here: input-bound.ts bounds a request's input by the bytes of its body,
 * which no tokenizer can exceed and no shape of body can defeat (see its header).
 *
 * The text is read in memory and dropped; none of it is kept, logged or stored.
 */
import { Provider } from '../pricing/model-price';
import type { EndpointKind } from '../endpoints';
import { countO200kTokens } from './o200k';

/** The request kinds, by the shape of their bodies: the proxy's endpoints. */
export type EstimateKind = EndpointKind;

/** Texts up to this many characters are counted exactly (≈3 ms for English on this machine). */
export const EXACT_LIMIT_CHARS = 32_768;
const SAMPLES = 16;
const SAMPLE_CHARS = 2_048;

/**
 * Tokens in a text. Up to EXACT_LIMIT_CHARS exactly; beyond, from evenly spaced samples scaled
 * to the whole length plus 10%, because the tokenizer's cost grows with the text and a 10 MB
 * body must not block the event loop for a second.
 */
export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length <= EXACT_LIMIT_CHARS) return countO200kTokens(text);
  const step = Math.floor((text.length - SAMPLE_CHARS) / (SAMPLES - 1));
  let tokens = 0;
  let chars = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const sample = text.slice(i * step, i * step + SAMPLE_CHARS);
    tokens += countO200kTokens(sample);
    chars += sample.length;
  }
  return Math.ceil((text.length * tokens * 11) / (chars * 10));
}

// Per message: role and separators (OpenAI's own accounting uses 3, plus 3 to prime the reply).
const PER_MESSAGE = 4;
const PER_REQUEST = 3;
// An image costs at most ~1,600 tokens at Anthropic, ~1,100 at gpt-4o, ~2,500 on the patch-based
// OpenAI models (gpt-4.1-mini, o4-mini), ~1,300 at Gemini for a large one.
export const IMAGE_TOKENS = 2_500;
// A file or audio clip with no size in the body (an id or a URL).
export const FILE_TOKENS = 2_500;
// Inline files by size: a PDF page (~2,000 tokens) is tens of KB; audio is far fewer tokens per byte.
const BASE64_CHARS_PER_TOKEN = 40;
// Anthropic adds a tool-use system prompt of ~350 tokens when tools are given.
const TOOLS_OVERHEAD: Record<Provider, number> = { anthropic: 400, openai: 20, xai: 20, gemini: 20, 'openai-compatible': 20 };
// Other tokenizers than o200k count more tokens for the same text (percent).
const TOKENIZER_SLACK: Record<Provider, number> = { openai: 100, xai: 110, gemini: 110, anthropic: 125, 'openai-compatible': 120 };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a walk over a body found: texts to tokenize together, and counts priced by rule. */
class Tally {
  readonly texts: string[] = [];
  fixed = 0; // tokens known without the tokenizer (token arrays, overheads, media)

  text(v: unknown): void {
    if (typeof v === 'string' && v.length > 0) this.texts.push(v);
  }
  json(v: unknown): void {
    if (v !== undefined && v !== null) this.texts.push(typeof v === 'string' ? v : JSON.stringify(v));
  }
  media(base64: unknown, isImage: boolean): void {
    if (isImage) this.fixed += IMAGE_TOKENS;
    else this.fixed += Math.max(FILE_TOKENS, typeof base64 === 'string' ? Math.ceil(base64.length / BASE64_CHARS_PER_TOKEN) : 0);
  }

  /** A message's content in any of the formats: a string, a list of parts, or one part. */
  content(c: unknown): void {
    if (typeof c === 'string') this.text(c);
    else if (Array.isArray(c)) for (const p of c) this.part(p);
    else this.part(c);
  }

  part(p: unknown): void {
    if (typeof p === 'string') return this.text(p);
    if (!isObj(p)) return;
    this.text(p.text); // OpenAI text/input_text/output_text, Anthropic text, Gemini text
    this.text(p.thinking); // Anthropic thinking blocks sent back
    this.text(p.refusal);
    switch (p.type) {
      case 'image_url': // OpenAI chat
      case 'input_image': // OpenAI responses
        return this.media(undefined, true);
      case 'image': // Anthropic
        return this.media(undefined, true);
      case 'input_audio': // OpenAI chat
        return this.media(isObj(p.input_audio) ? p.input_audio.data : undefined, false);
      case 'file': // OpenAI chat
        return this.media(isObj(p.file) ? p.file.file_data : undefined, false);
      case 'input_file': // OpenAI responses
        return this.media(p.file_data, false);
      case 'document': {
        // Anthropic: a PDF (base64, url, file) or a plain-text / content-block document.
        const s = isObj(p.source) ? p.source : {};
        if (s.type === 'text') this.text(s.data);
        else if (s.type === 'content') this.content(s.content);
        else this.media(s.data, false);
        this.text(p.title);
        this.text(p.context);
        return;
      }
      case 'tool_use':
      case 'server_tool_use':
        this.text(p.name);
        return this.json(p.input);
      case 'tool_result':
      case 'search_result':
        this.text(p.title);
        return this.content(p.content);
    }
    // Gemini parts (the REST API accepts camelCase and snake_case).
    const inline = p.inlineData ?? p.inline_data;
    if (isObj(inline)) this.media(inline.data, String(inline.mimeType ?? inline.mime_type).startsWith('image/'));
    const file = p.fileData ?? p.file_data;
    if (isObj(file)) this.media(undefined, String(file.mimeType ?? file.mime_type).startsWith('image/'));
    const call = p.functionCall ?? p.function_call;
    if (isObj(call)) {
      this.text(call.name);
      this.json(call.args);
    }
    const response = p.functionResponse ?? p.function_response;
    if (isObj(response)) {
      this.text(response.name);
      this.json(response.response);
    }
    const code = p.executableCode ?? p.executable_code;
    if (isObj(code)) this.text(code.code);
    const result = p.codeExecutionResult ?? p.code_execution_result;
    if (isObj(result)) this.text(result.output);
  }
}

const providerOf = (kind: EstimateKind): Provider =>
  kind.startsWith('anthropic.') ? 'anthropic' : kind.startsWith('gemini.') ? 'gemini' : 'openai';

/**
 * The input tokens of a parsed request body, leaning high. `provider` is whose tokenizer will
 * count them, when that is not the body format's own (an Anthropic model called through the
 * OpenAI chat format, an xAI model).
 */
export function estimateInputTokens(kind: EstimateKind, body: unknown, provider: Provider = providerOf(kind)): number {
  const b = isObj(body) ? body : {};
  const t = new Tally();
  let exact = 0; // token arrays: counted as given, no slack
  let tools = false;
  switch (kind) {
    case 'openai.chat':
      t.fixed += PER_REQUEST;
      for (const m of Array.isArray(b.messages) ? b.messages : []) {
        if (!isObj(m)) continue;
        t.fixed += PER_MESSAGE;
        t.content(m.content);
        t.text(m.name);
        t.text(m.reasoning_content);
        for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
          if (isObj(tc) && isObj(tc.function)) {
            t.text(tc.function.name);
            t.text(tc.function.arguments);
          }
        }
        if (isObj(m.function_call)) {
          t.text(m.function_call.name);
          t.text(m.function_call.arguments);
        }
      }
      tools = addTools(t, b.tools) || addTools(t, b.functions);
      if (isObj(b.response_format)) t.json(b.response_format.json_schema);
      break;
    case 'openai.completions':
    case 'openai.embeddings': {
      const input = kind === 'openai.completions' ? b.prompt : b.input;
      const items: unknown[] = Array.isArray(input) && !isTokenArray(input) ? input : [input];
      for (const item of items) {
        if (isTokenArray(item)) exact += item.length;
        else t.text(item);
      }
      t.text(b.suffix);
      break;
    }
    case 'openai.responses':
      t.fixed += PER_REQUEST;
      t.text(b.instructions);
      if (typeof b.input === 'string') {
        t.fixed += PER_MESSAGE;
        t.text(b.input);
      }
      for (const item of Array.isArray(b.input) ? b.input : []) {
        if (!isObj(item)) continue;
        t.fixed += PER_MESSAGE;
        if (item.type === 'function_call' || item.type === 'custom_tool_call') {
          t.text(item.name);
          t.text(item.arguments);
          t.text(item.input);
        } else if (item.type === 'function_call_output' || item.type === 'custom_tool_call_output') {
          t.content(item.output);
        } else if (item.type === 'reasoning') {
          for (const s of Array.isArray(item.summary) ? item.summary : []) t.part(s);
        } else if (isObj(item.output)) {
          t.part(item.output); // computer_call_output: a screenshot
        } else {
          t.content(item.content); // a message, with or without type: 'message'
        }
      }
      tools = addTools(t, b.tools);
      if (isObj(b.text)) t.json(b.text.format);
      break;
    case 'anthropic.messages':
    case 'anthropic.count_tokens':
      t.fixed += PER_REQUEST;
      t.content(b.system);
      for (const m of Array.isArray(b.messages) ? b.messages : []) {
        if (!isObj(m)) continue;
        t.fixed += PER_MESSAGE;
        t.content(m.content);
      }
      tools = addTools(t, b.tools);
      break;
    case 'gemini.generate':
    case 'gemini.stream': {
      t.fixed += PER_REQUEST;
      const system = b.systemInstruction ?? b.system_instruction;
      if (isObj(system)) t.content(system.parts);
      else t.content(system);
      for (const c of Array.isArray(b.contents) ? b.contents : []) {
        if (!isObj(c)) continue;
        t.fixed += PER_MESSAGE;
        t.content(c.parts);
      }
      tools = addTools(t, b.tools);
      const gen = b.generationConfig ?? b.generation_config;
      if (isObj(gen)) {
        t.json(gen.responseSchema ?? gen.response_schema);
        t.json(gen.responseJsonSchema ?? gen.response_json_schema);
      }
      break;
    }
  }
  if (tools) t.fixed += TOOLS_OVERHEAD[provider];
  const counted = estimateTokens(t.texts.join('\n')) + t.fixed;
  return Math.ceil((counted * TOKENIZER_SLACK[provider]) / 100) + exact;
}

function addTools(t: Tally, tools: unknown): boolean {
  if (!Array.isArray(tools) || tools.length === 0) return false;
  t.json(tools);
  return true;
}

function isTokenArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && typeof v[0] === 'number';
}
