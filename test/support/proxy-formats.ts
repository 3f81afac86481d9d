/**
 * The three API formats the gateway speaks, as e2e tests call them: once with the official SDK
 * (as a client would) and once as raw HTTP (to see the exact status, headers and body), plus
 * what each format's error looks like from both sides.
 *
 * Error expectations are written from the providers' own conventions (OpenAI's
 * `{error: {message, type, param, code}}`, Anthropic's `{type: 'error', error: {type, message}}`,
 * Gemini's `{error: {code, message, status}}` with Google RPC status names), not copied from the
 * gateway's code, so a drift there fails here.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';

export type Format = 'openai' | 'anthropic' | 'gemini';
export const FORMATS: Format[] = ['openai', 'anthropic', 'gemini'];

/** A model of each format's own provider, in the shipped price table. */
export const DEFAULT_MODEL: Record<Format, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-haiku-4-5', gemini: 'gemini-2.0-flash' };

export const openaiClient = (url: string, secret: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: secret, maxRetries: 0 });
export const anthropicClient = (url: string, secret: string) => new Anthropic({ baseURL: url, apiKey: secret, maxRetries: 0 });
// Under jest @google/genai needs a fetch handed to it (its default Undici dispatcher is missing).
export const geminiClient = (url: string, secret: string) => new GoogleGenAI({ apiKey: secret, httpOptions: { baseUrl: url, fetch } });

export interface CallOptions {
  model?: string;
  prompt?: string;
  /** Output limit sent as that format's own field. */
  maxTokens?: number;
}

/** One chat request through the format's official SDK; resolves to the reply text. */
export async function sdkCall(url: string, secret: string, format: Format, o: CallOptions = {}): Promise<string> {
  const model = o.model ?? DEFAULT_MODEL[format];
  const prompt = o.prompt ?? 'hello there';
  switch (format) {
    case 'openai': {
      const r = await openaiClient(url, secret).chat.completions.create({
        model,
        messages: [{ role: 'user', content: prompt }],
        ...(o.maxTokens === undefined ? {} : { max_tokens: o.maxTokens }),
      });
      return r.choices[0].message.content ?? '';
    }
    case 'anthropic': {
      const r = await anthropicClient(url, secret).messages.create({ model, max_tokens: o.maxTokens ?? 50, messages: [{ role: 'user', content: prompt }] });
      return r.content[0].type === 'text' ? r.content[0].text : '';
    }
    case 'gemini': {
      const config = o.maxTokens === undefined ? undefined : { maxOutputTokens: o.maxTokens };
      const r = await geminiClient(url, secret).models.generateContent({ model, contents: prompt, config });
      return r.text ?? '';
    }
  }
}

/** The same call, expected to fail: the error the SDK threw (an Error saying so if it did not). */
export function sdkError(url: string, secret: string, format: Format, o: CallOptions = {}): Promise<unknown> {
  return sdkCall(url, secret, format, o).then(
    () => new Error(`the ${format} request was answered`),
    (e: unknown) => e,
  );
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export interface RawOptions {
  model?: string;
  /** The key, sent the way the format's SDK sends it; null sends none. */
  secret: string | null;
  /** Replaces the JSON body (a string is sent as it is, e.g. malformed JSON). */
  body?: unknown;
}

/** The same chat request as raw HTTP. */
export async function rawCall(url: string, format: Format, o: RawOptions): Promise<RawAnswer> {
  const model = o.model ?? DEFAULT_MODEL[format];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let path: string;
  let body: unknown;
  switch (format) {
    case 'openai':
      path = '/v1/chat/completions';
      if (o.secret !== null) headers.authorization = `Bearer ${o.secret}`;
      body = { model, messages: [{ role: 'user', content: 'hello there' }] };
      break;
    case 'anthropic':
      path = '/v1/messages';
      if (o.secret !== null) headers['x-api-key'] = o.secret;
      headers['anthropic-version'] = '2023-06-01';
      body = { model, max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] };
      break;
    case 'gemini':
      path = `/v1beta/models/${encodeURIComponent(model)}:generateContent`;
      if (o.secret !== null) headers['x-goog-api-key'] = o.secret;
      body = { contents: [{ role: 'user', parts: [{ text: 'hello there' }] }] };
      break;
  }
  if (o.body !== undefined) body = o.body;
  const res = await fetch(url + path, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text; the shape checks will say so
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
};

const GOOGLE_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  402: 'FAILED_PRECONDITION',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED', // no Google convention for these four: the gateway's choice
  408: 'DEADLINE_EXCEEDED',
  413: 'INVALID_ARGUMENT',
  414: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  431: 'INVALID_ARGUMENT',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * A gateway error answer in the format's own shape: the status, an x-request-id, JSON, and for
 * OpenAI the gateway's stable `code` (the only format with a field for it).
 */
export function expectGatewayError(a: RawAnswer, format: Format, status: number, code: string): void {
  expect({ status: a.status, type: a.headers.get('content-type') }).toEqual({ status, type: expect.stringMatching(/^application\/json/) });
  expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  switch (format) {
    case 'openai': {
      // param is null or the name of the offending field
      const param = (a.body as { error?: { param?: unknown } }).error?.param;
      expect(param === null || typeof param === 'string').toBe(true);
      expect(a.body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param, code } });
      break;
    }
    case 'anthropic':
      expect(a.body).toEqual({
        type: 'error',
        error: { type: ANTHROPIC_TYPE[status] ?? (status >= 500 ? expect.stringMatching(/^(api_error|overloaded_error|timeout_error)$/) : 'invalid_request_error'), message: expect.any(String) },
      });
      break;
    case 'gemini':
      expect(a.body).toEqual({ error: { code: status, message: expect.any(String), status: GOOGLE_STATUS[status] } });
      break;
  }
}

type SdkErrorClass = abstract new (...args: never[]) => Error;

function sdkClass(sdk: typeof OpenAI | typeof Anthropic, status: number): SdkErrorClass {
  const byStatus: Record<number, SdkErrorClass> = {
    400: sdk.BadRequestError,
    401: sdk.AuthenticationError,
    403: sdk.PermissionDeniedError,
    404: sdk.NotFoundError,
    409: sdk.ConflictError,
    422: sdk.UnprocessableEntityError,
    429: sdk.RateLimitError,
  };
  return byStatus[status] ?? (status >= 500 ? sdk.InternalServerError : sdk.APIError);
}

/** The SDK raised its own error class for this status (Gemini's SDK has one class, ApiError). */
export function expectSdkError(err: unknown, format: Format, status: number): void {
  if (format === 'gemini') {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(status);
    const google = GOOGLE_STATUS[status];
    if (google) expect((err as ApiError).message).toContain(google);
    return;
  }
  const sdk = format === 'openai' ? OpenAI : Anthropic;
  expect(err).toBeInstanceOf(sdkClass(sdk, status));
  expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
}

/** The body the SDK error carries (OpenAI's `error` is the inner object; Anthropic's the whole body). */
export function sdkErrorBody(err: unknown): unknown {
  return (err as { error?: unknown }).error;
}

/** The x-request-id the SDK error's response carried (not available from the Gemini SDK). */
export function sdkRequestId(err: unknown): string | null {
  return (err as { headers?: Headers }).headers?.get('x-request-id') ?? null;
}
