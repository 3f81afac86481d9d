/**
 * Gemini's wire format: POST /v1beta/models/{model}:generateContent and
 * :streamGenerateContent — with `?alt=sse` as `data: {GenerateContentResponse}` events
 * (CRLF-terminated, no [DONE]), without it as one JSON array streamed element by element.
 * Auth by `x-goog-api-key` or `?key=`; as Google does, a wrong key is a 400 INVALID_ARGUMENT
 * (reason API_KEY_INVALID) and a missing one a 403 PERMISSION_DENIED.
 * `promptTokenCount` includes `cachedContentTokenCount`, which is present only when cached.
 */
import { Provider, Reply, RequestContext, asObject, dataEvent, json, seqId, sse } from './reply';
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

const STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const JSON_TYPE = { 'content-type': 'application/json; charset=UTF-8' };

function geminiError(status: number, message?: string, details?: unknown[]): Reply {
  const text = message ?? (status >= 500 ? 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting' : `Error ${status}`);
  const error = { code: status, message: text, status: STATUSES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'), ...(details ? { details } : {}) };
  return json(status, { error }, JSON_TYPE);
}

export const gemini: Provider = {
  error: (status, message) => geminiError(status, message),
  badJson: () => geminiError(400, 'Invalid JSON payload received.'),
  auth(ctx) {
    const key = ctx.headers['x-goog-api-key'] ?? ctx.query.get('key');
    if (!key) {
      return geminiError(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    }
    if (key !== ctx.apiKey) {
      return geminiError(400, 'API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
      ]);
    }
    return undefined;
  },
};

export function geminiNotFound(path: string): Reply {
  return geminiError(404, `The requested URL ${path} was not found on this server.`);
}

interface Declaration {
  name?: string;
  parameters?: unknown;
  parametersJsonSchema?: unknown;
}

function chosenTool(b: Record<string, unknown>, contents: { role?: string; parts?: unknown }[]): FakeToolCall | undefined {
  const decls: Declaration[] = [];
  for (const t of Array.isArray(b.tools) ? (b.tools as { functionDeclarations?: Declaration[] }[]) : []) {
    for (const d of t?.functionDeclarations ?? []) if (typeof d?.name === 'string') decls.push(d);
  }
  const config = (b.toolConfig as { functionCallingConfig?: { mode?: string; allowedFunctionNames?: string[] } } | undefined)
    ?.functionCallingConfig;
  if (!decls.length || config?.mode === 'NONE') return undefined;
  const allowed = config?.mode === 'ANY' ? config.allowedFunctionNames?.[0] : undefined;
  let decl = allowed ? decls.find((d) => d.name === allowed) : decls[0];
  if (config?.mode !== 'ANY') {
    const lastUser = [...contents].reverse().find((c) => c && (c.role === 'user' || c.role === undefined));
    if (!asksForTool(lastUser ? plainText(lastUser.parts) : undefined)) decl = undefined;
  }
  return decl && fakeToolCall(decl.name!, decl.parameters ?? decl.parametersJsonSchema);
}

function usageOf(u: FakeUsage, output: number | undefined) {
  return {
    promptTokenCount: u.input,
    ...(output === undefined ? {} : { candidatesTokenCount: output }),
    totalTokenCount: u.input + (output ?? 0),
    ...(u.cached ? { cachedContentTokenCount: u.cached } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: u.input }],
    ...(u.cached ? { cacheTokensDetails: [{ modality: 'TEXT', tokenCount: u.cached }] } : {}),
  };
}

export function generateContent(ctx: RequestContext, model: string, stream: boolean): Reply {
  const b = asObject(ctx.body)!;
  if (!Array.isArray(b.contents) || b.contents.length === 0) {
    return geminiError(400, '* GenerateContentRequest.contents: contents is not specified\n');
  }
  const contents = b.contents as { role?: string; parts?: unknown }[];
  const stats = textStats(b.systemInstruction ?? '', contents);
  const tool = chosenTool(b, contents);
  let text = '';
  let finish = 'STOP';
  if (!tool) {
    const max = (b.generationConfig as { maxOutputTokens?: unknown } | undefined)?.maxOutputTokens;
    const cut = limitWords(fakeReplyText('gemini', stats.words, stats.replyWords), max);
    text = cut.text;
    if (cut.truncated) finish = 'MAX_TOKENS';
  }
  const output = tool ? tool.outputTokens : countWords(text);
  const u = fakeUsage(stats, output);
  const common = { modelVersion: model, responseId: seqId('fake', ctx.seq) };
  const response = (parts: unknown[], last: boolean) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(last ? { finishReason: finish } : {}), index: 0 }],
    usageMetadata: usageOf(u, last ? output : undefined),
    ...common,
  });

  const allParts = tool ? [{ functionCall: { name: tool.name, args: tool.args } }] : [{ text }];
  if (!stream) return json(200, response(allParts, true), JSON_TYPE);

  // Gemini sends a function call whole, in one chunk; text comes a word at a time.
  const pieces = tool ? [allParts] : splitWords(text).map((w) => [{ text: w }]);
  const bodies = pieces.map((parts, i) => JSON.stringify(response(parts, i === pieces.length - 1)));
  if (ctx.query.get('alt') === 'sse') return sse(bodies.map((j) => dataEvent(j, '\r\n')), { 'content-type': 'text/event-stream' });
  const chunks = bodies.map((j, i) => (i === 0 ? '[' : '\n,\r\n') + j);
  chunks[chunks.length - 1] += ']';
  return { type: 'stream', status: 200, headers: JSON_TYPE, chunks };
}
