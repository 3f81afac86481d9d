/**
 * OpenAI chat request → Gemini generateContent request (camelCase JSON, as the REST API takes
 * it). The model goes in the URL, not the body: the caller posts to
 * `models/{model}:generateContent`, or `:streamGenerateContent?alt=sse` when `stream` is true.
 */
import type { ImagePart, TextPart, ToolCallIn, Turn } from './openai-messages';
import { ChatRequest, readChatRequest } from './openai-request';
import { SYNTHETIC_CALL_ID_PREFIX } from './gemini-to-openai';
import { invalid, unsupported } from './translation-error';

/**
 * Gemini 3 rejects a replayed function call without its thought signature. For calls whose
 * signature the client did not keep (or that another model made), Google documents this value
 * to skip the check.
 */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

export interface GeminiRequestOptions {
  /** maxOutputTokens when the client gave none; left out (the model's own limit) if unset. */
  defaultMaxTokens?: number;
}

export interface TranslatedGeminiRequest {
  model: string;
  body: Record<string, unknown>;
  stream: boolean;
  includeUsage: boolean;
}

type Part = Record<string, unknown>;

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif'];

export function openaiChatToGemini(input: unknown, opts: GeminiRequestOptions = {}): TranslatedGeminiRequest {
  const req = readChatRequest(input, 'Gemini');
  refuseUnsupported(req);

  const body: Record<string, unknown> = { contents: contents(req.turns) };
  const system = req.system.filter((p) => p.text !== '').map((p) => ({ text: p.text }));
  if (system.length) body.systemInstruction = { parts: system };
  if (req.tools.length) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => ({
          name: t.name,
          ...(t.description !== undefined && { description: t.description }),
          ...(t.parameters !== undefined && { parametersJsonSchema: t.parameters }),
        })),
      },
    ];
    if (req.toolChoice !== undefined) body.toolConfig = { functionCallingConfig: functionCalling(req.toolChoice) };
  }
  const config = generationConfig(req, opts);
  if (Object.keys(config).length) body.generationConfig = config;
  return { model: req.model.replace(/^models\//, ''), body, stream: req.stream, includeUsage: req.includeUsage };
}

function refuseUnsupported(req: ChatRequest): void {
  if (req.parallelToolCalls === false && req.tools.length) {
    throw unsupported('parallel_tool_calls', 'Gemini models cannot be limited to one tool call per turn.');
  }
  if (req.reasoningEffort !== undefined) throw unsupported('reasoning_effort', 'reasoning_effort cannot be translated for Gemini models.');
}

function generationConfig(req: ChatRequest, opts: GeminiRequestOptions): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  const max = req.maxTokens ?? opts.defaultMaxTokens;
  if (max !== undefined) c.maxOutputTokens = max;
  if (req.temperature !== undefined) c.temperature = req.temperature;
  if (req.topP !== undefined) c.topP = req.topP;
  if (req.stop) c.stopSequences = req.stop;
  if (req.seed !== undefined) c.seed = req.seed;
  if (req.presencePenalty !== undefined) c.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) c.frequencyPenalty = req.frequencyPenalty;
  const rf = req.responseFormat;
  if (rf) {
    c.responseMimeType = 'application/json';
    if (rf.type === 'json_schema' && rf.schema) c.responseJsonSchema = rf.schema;
  }
  return c;
}

function functionCalling(choice: NonNullable<ChatRequest['toolChoice']>): Record<string, unknown> {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.name] };
}

const sentId = (id: string): string | undefined => (id.startsWith(SYNTHETIC_CALL_ID_PREFIX) ? undefined : id);

function imagePart(p: ImagePart): Part {
  if (p.source.kind === 'url') throw unsupported(p.path, 'Gemini models take images here only as base64 data: URLs.');
  if (!IMAGE_TYPES.includes(p.source.mediaType)) {
    throw unsupported(p.path, `Gemini models take images of type ${IMAGE_TYPES.join(', ')}, not ${p.source.mediaType}.`);
  }
  return { inlineData: { mimeType: p.source.mediaType, data: p.source.data } };
}

function callParts(calls: ToolCallIn[]): Part[] {
  // Only the first call of a turn carries the signature (parallel calls share it).
  const unsigned = calls.length > 0 && calls[0].signature === undefined;
  return calls.map((c, i) => {
    const id = sentId(c.id);
    const signature = c.signature ?? (i === 0 && unsigned ? SKIP_THOUGHT_SIGNATURE : undefined);
    return {
      functionCall: { name: c.name, args: c.args, ...(id !== undefined && { id }) },
      ...(signature !== undefined && { thoughtSignature: signature }),
    };
  });
}

const text = (p: TextPart): Part => ({ text: p.text });

function turnParts(t: Turn): { role: 'user' | 'model'; parts: Part[] } {
  switch (t.role) {
    case 'user':
      return { role: 'user', parts: t.parts.filter((p) => p.type === 'image' || p.text !== '').map((p) => (p.type === 'image' ? imagePart(p) : text(p))) };
    case 'assistant':
      return { role: 'model', parts: [...t.parts.filter((p) => p.text !== '').map(text), ...callParts(t.toolCalls)] };
    case 'tool': {
      const output = typeof t.content === 'string' ? t.content : t.content.map((p) => p.text).join('');
      const id = sentId(t.toolCallId);
      // "output" is the key Gemini documents for a function's result.
      return { role: 'user', parts: [{ functionResponse: { name: t.name, response: { output }, ...(id !== undefined && { id }) } }] };
    }
  }
}

/** Consecutive turns of one role merge: parallel function responses must share one content. */
function contents(turns: Turn[]): Array<{ role: string; parts: Part[] }> {
  const out: Array<{ role: string; parts: Part[] }> = [];
  let lastIndex = -1;
  for (const t of turns) {
    const { role, parts } = turnParts(t);
    if (!parts.length) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
    lastIndex = t.index;
  }
  if (!out.length) throw invalid('messages', '`messages` needs at least one user message with content.');
  if (out[out.length - 1].role === 'model') {
    throw unsupported(`messages[${lastIndex}].role`, 'The last message must not be an assistant message: a Gemini model would continue it instead of answering it.');
  }
  return out;
}

// One import path for the whole Gemini translation (the answer side lives in its own file).
export type { GeminiResponse } from './gemini-to-openai';
export {
  GeminiToOpenaiStream,
  SYNTHETIC_CALL_ID_PREFIX,
  geminiErrorToOpenai,
  geminiFinishReason,
  geminiResponseToOpenaiChat,
  geminiUsageToOpenai,
} from './gemini-to-openai';
