/**
 * Reads the `messages` of an OpenAI chat request into one neutral form that both provider
 * translations map from, refusing what neither can carry. Every refusal names the exact field
 * (`messages[2].content[0].type`), as OpenAI's own 400 answers do.
 */
import { invalid, unsupported } from './translation-error';

export type ProviderName = 'Anthropic' | 'Gemini';

export interface TextPart {
  type: 'text';
  text: string;
  /** OpenAI's prompt_cache_breakpoint on this part (Anthropic: cache_control). */
  cache: boolean;
}

export type ImageSource = { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string };

export interface ImagePart {
  type: 'image';
  source: ImageSource;
  cache: boolean;
  path: string;
}

export interface ToolCallIn {
  id: string;
  name: string;
  args: Record<string, unknown>;
  /** Gemini's thought signature, echoed back by the client in extra_content.google. */
  signature?: string;
}

export type Turn =
  | { role: 'user'; parts: Array<TextPart | ImagePart>; index: number }
  | { role: 'assistant'; parts: TextPart[]; toolCalls: ToolCallIn[]; index: number }
  | { role: 'tool'; toolCallId: string; name: string; content: string | TextPart[]; index: number };

export interface ReadMessages {
  system: TextPart[];
  turns: Turn[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MESSAGE_KEYS: Record<string, readonly string[]> = {
  system: ['role', 'content', 'name'],
  developer: ['role', 'content', 'name'],
  user: ['role', 'content', 'name'],
  assistant: ['role', 'content', 'name', 'tool_calls', 'refusal', 'audio', 'function_call', 'annotations'],
  tool: ['role', 'content', 'tool_call_id'],
};

export function readMessages(raw: unknown, provider: ProviderName): ReadMessages {
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('messages', '`messages` must be a non-empty array.');
  const system: TextPart[] = [];
  const turns: Turn[] = [];
  raw.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw invalid(at, `${at} must be an object.`);
    const role = m.role;
    if (role === 'function') throw unsupported(`${at}.role`, 'The deprecated `function` role cannot be translated; use `tool` messages.');
    if (typeof role !== 'string' || !MESSAGE_KEYS[role]) throw invalid(`${at}.role`, `${at}.role must be one of system, developer, user, assistant, tool.`);
    for (const key of Object.keys(m)) {
      if (!MESSAGE_KEYS[role].includes(key)) throw unsupported(`${at}.${key}`, `${at}.${key} cannot be translated for ${provider} models.`);
    }
    switch (role) {
      case 'system':
      case 'developer':
        if (turns.length > 0) {
          throw unsupported(
            `${at}.role`,
            `A ${role} message after the conversation has started cannot be translated: ${provider} models take one system prompt before all turns.`,
          );
        }
        system.push(...textParts(m.content, `${at}.content`, false));
        return;
      case 'user':
        turns.push({ role: 'user', parts: userParts(m.content, `${at}.content`), index: i });
        return;
      case 'assistant':
        turns.push(assistantTurn(m, at, i));
        return;
      case 'tool':
        turns.push(toolTurn(m, at, i, turns));
        return;
    }
  });
  return { system, turns };
}

/** String or array of text parts (system, developer, tool; assistant also allows refusal parts). */
function textParts(content: unknown, at: string, allowRefusal: boolean): TextPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content, cache: false }];
  if (!Array.isArray(content)) throw invalid(at, `${at} must be a string or an array of text parts.`);
  return content.map((p, j) => textPart(p, `${at}[${j}]`, allowRefusal));
}

function textPart(p: unknown, at: string, allowRefusal: boolean): TextPart {
  if (!isObject(p)) throw invalid(at, `${at} must be an object.`);
  if (p.type === 'text' || (allowRefusal && p.type === 'refusal')) {
    const text = p.type === 'text' ? p.text : p.refusal;
    if (typeof text !== 'string') throw invalid(at, `${at} must carry a string.`);
    return { type: 'text', text, cache: cacheBreakpoint(p, at) };
  }
  throw unsupported(`${at}.type`, `${at}.type must be "text" here.`);
}

function cacheBreakpoint(p: Record<string, unknown>, at: string): boolean {
  for (const key of Object.keys(p)) {
    if (!['type', 'text', 'refusal', 'image_url', 'prompt_cache_breakpoint'].includes(key)) {
      throw unsupported(`${at}.${key}`, `${at}.${key} cannot be translated.`);
    }
  }
  return p.prompt_cache_breakpoint != null;
}

function userParts(content: unknown, at: string): Array<TextPart | ImagePart> {
  if (typeof content === 'string') return [{ type: 'text', text: content, cache: false }];
  if (!Array.isArray(content)) throw invalid(at, `${at} must be a string or an array of content parts.`);
  return content.map((p, j): TextPart | ImagePart => {
    const pat = `${at}[${j}]`;
    if (!isObject(p)) throw invalid(pat, `${pat} must be an object.`);
    if (p.type === 'text') return textPart(p, pat, false);
    if (p.type === 'image_url') {
      const img = p.image_url;
      if (!isObject(img) || typeof img.url !== 'string') throw invalid(`${pat}.image_url.url`, `${pat}.image_url.url must be a string.`);
      return { type: 'image', source: imageSource(img.url, `${pat}.image_url.url`), cache: cacheBreakpoint(p, pat), path: `${pat}.image_url.url` };
    }
    if (p.type === 'input_audio') throw unsupported(`${pat}.type`, 'Audio input cannot be translated for this model.');
    if (p.type === 'file') throw unsupported(`${pat}.type`, 'File inputs cannot be translated for this model.');
    throw invalid(`${pat}.type`, `${pat}.type must be one of text, image_url, input_audio, file.`);
  });
}

const DATA_URL = /^data:([^;,]+)((?:;[^;,=]+=[^;,]*)*);base64,(.*)$/s;

function imageSource(url: string, at: string): ImageSource {
  if (url.startsWith('data:')) {
    const m = DATA_URL.exec(url);
    if (!m) throw invalid(at, `${at} must be a base64 data: URL (data:<media type>;base64,<data>) or an https URL.`);
    return { kind: 'base64', mediaType: m[1].toLowerCase(), data: m[3] };
  }
  if (/^https?:\/\//i.test(url)) return { kind: 'url', url };
  throw invalid(at, `${at} must be a base64 data: URL or an https URL.`);
}

function assistantTurn(m: Record<string, unknown>, at: string, index: number): Turn {
  if (m.audio != null) throw unsupported(`${at}.audio`, 'Assistant audio cannot be translated for this model.');
  if (m.function_call != null) throw unsupported(`${at}.function_call`, 'The deprecated function_call cannot be translated; use tool_calls.');
  const parts = m.content == null ? [] : textParts(m.content, `${at}.content`, true);
  if (typeof m.refusal === 'string' && m.refusal !== '' && parts.every((p) => p.text === '')) {
    parts.push({ type: 'text', text: m.refusal, cache: false });
  }
  const toolCalls: ToolCallIn[] = [];
  if (m.tool_calls != null) {
    if (!Array.isArray(m.tool_calls)) throw invalid(`${at}.tool_calls`, `${at}.tool_calls must be an array.`);
    m.tool_calls.forEach((c, j) => toolCalls.push(toolCallIn(c, `${at}.tool_calls[${j}]`)));
  }
  return { role: 'assistant', parts, toolCalls, index };
}

function toolCallIn(c: unknown, at: string): ToolCallIn {
  if (!isObject(c)) throw invalid(at, `${at} must be an object.`);
  if (c.type !== 'function') throw unsupported(`${at}.type`, 'Only function tool calls can be translated.');
  const fn = c.function;
  if (typeof c.id !== 'string' || c.id === '') throw invalid(`${at}.id`, `${at}.id must be a non-empty string.`);
  if (!isObject(fn) || typeof fn.name !== 'string' || fn.name === '') throw invalid(`${at}.function.name`, `${at}.function.name must be a string.`);
  const argsText = fn.arguments ?? '';
  if (typeof argsText !== 'string') throw invalid(`${at}.function.arguments`, `${at}.function.arguments must be a string of JSON.`);
  let args: unknown = {};
  if (argsText.trim() !== '') {
    try {
      args = JSON.parse(argsText);
    } catch {
      throw invalid(`${at}.function.arguments`, `${at}.function.arguments is not valid JSON.`);
    }
  }
  if (!isObject(args)) throw invalid(`${at}.function.arguments`, `${at}.function.arguments must be a JSON object.`);
  const call: ToolCallIn = { id: c.id, name: fn.name, args };
  const extra = c.extra_content;
  if (isObject(extra) && isObject(extra.google) && typeof extra.google.thought_signature === 'string') {
    call.signature = extra.google.thought_signature;
  }
  return call;
}

function toolTurn(m: Record<string, unknown>, at: string, index: number, earlier: Turn[]): Turn {
  const id = m.tool_call_id;
  if (typeof id !== 'string' || id === '') throw invalid(`${at}.tool_call_id`, `${at}.tool_call_id must be a non-empty string.`);
  // The nearest earlier call with this id (ids may repeat across turns in long histories).
  let name: string | undefined;
  for (let k = earlier.length - 1; k >= 0 && name === undefined; k--) {
    const t = earlier[k];
    if (t.role === 'assistant') name = t.toolCalls.find((c) => c.id === id)?.name;
  }
  if (name === undefined) {
    throw invalid(`${at}.tool_call_id`, `${at}.tool_call_id does not match a tool call of an earlier assistant message.`);
  }
  const content = typeof m.content === 'string' ? m.content : textParts(m.content, `${at}.content`, false);
  return { role: 'tool', toolCallId: id, name, content, index };
}
