/**
 * OpenAI's wire format (base path /v1): auth, errors, embeddings and models here; chat and
 * legacy completions in openai-chat.ts, responses in openai-responses.ts.
 */
import { Headers, Provider, Reply, RequestContext, asObject, json, seqId } from './reply';
import { textStats } from './text';

export const OPENAI_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'text-embedding-3-small', 'gpt-3.5-turbo-instruct'];

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  429: 'rate_limit_exceeded',
};

export function openaiHeaders(seq: number): Headers {
  return { 'x-request-id': seqId('req_fake', seq), 'openai-version': '2020-10-01', 'openai-processing-ms': '1' };
}

export function openaiError(status: number, message?: string, param: string | null = null, code: string | null = null): Reply {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  const text = message ?? (status >= 500 ? 'The server had an error while processing your request. Sorry about that!' : `Error ${status}`);
  return json(status, { error: { message: text, type, param, code } });
}

export const openai: Provider = {
  error: (status, message) => openaiError(status, message),
  badJson: () =>
    openaiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)"),
  auth(ctx) {
    const header = ctx.headers.authorization;
    if (!header) return openaiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).");
    if (header !== `Bearer ${ctx.apiKey}`) return openaiError(401, 'Incorrect API key provided.', null, 'invalid_api_key');
    return undefined;
  },
};

/** The `model` field, or the refusal OpenAI gives without one. */
export function requireModel(body: Record<string, unknown>): string | Reply {
  return typeof body.model === 'string' && body.model ? body.model : openaiError(400, 'you must provide a model parameter');
}

export function missing(param: string): Reply {
  return openaiError(400, `Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
}

export function models(ctx: RequestContext): Reply {
  const data = OPENAI_MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake-openai' }));
  return json(200, { object: 'list', data }, openaiHeaders(ctx.seq));
}

function vector(dims: number, seed: number): Float32Array {
  const v = new Float32Array(dims);
  for (let j = 0; j < dims; j++) v[j] = Math.sin((seed + 1) * (j + 1));
  return v;
}

/** POST /v1/embeddings: `dimensions` floats per input (16 by default), float or base64 (float32 LE). */
export function embeddings(ctx: RequestContext): Reply {
  const b = asObject(ctx.body)!;
  const model = requireModel(b);
  if (typeof model !== 'string') return model;
  const input = b.input;
  if (input === undefined || input === null || input === '') return missing('input');
  const items: unknown[] = Array.isArray(input) && !input.every((x) => typeof x === 'number') ? input : [input];
  const format = b.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return openaiError(400, `'${typeof format === 'string' ? format : JSON.stringify(format)}' is not one of ['float', 'base64'] - 'encoding_format'`, 'encoding_format');
  }
  const dims = typeof b.dimensions === 'number' && b.dimensions >= 1 ? Math.min(4096, Math.floor(b.dimensions)) : 16;
  let words = 0;
  const data = items.map((item, index) => {
    const n = textStats(item).words;
    words += n;
    const v = vector(dims, index * 7919 + n);
    const embedding = format === 'base64' ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
    return { object: 'embedding', index, embedding };
  });
  return json(
    200,
    { object: 'list', data, model, usage: { prompt_tokens: words, total_tokens: words } },
    openaiHeaders(ctx.seq),
  );
}
