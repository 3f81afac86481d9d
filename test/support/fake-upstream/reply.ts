/**
 * What a fake provider handler returns: a whole JSON body, or the ordered chunks of a stream
 * (one SSE event, or one element of a JSON-array stream, per chunk). The server decides how
 * fast, and whether completely, the chunks go out (see the behaviours in ../fake-upstream.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';

export type Headers = Record<string, string>;

export type Reply =
  | { type: 'json'; status: number; headers: Headers; body: string }
  | { type: 'stream'; status: number; headers: Headers; chunks: string[] };

export interface RequestContext {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; undefined when the body was empty. */
  body: unknown;
  apiKey: string;
  /** A number unique to this request within one fake server, for ids. */
  seq: number;
  /** Set by the 'tool-call' behaviour: the call to answer with, whatever tools the request declared. */
  toolCall?: { name: string; args: Record<string, unknown> };
}

/** A provider's handling of one route; auth has already passed. */
export type Handler = (ctx: RequestContext) => Reply;

export interface Provider {
  /** The error reply in this provider's shape, for scripted statuses and our own refusals. */
  error(status: number, message?: string): Reply;
  /** Refusal when the request's credentials are missing or wrong, else undefined. */
  auth(ctx: RequestContext): Reply | undefined;
  /** Refusal of a body that is not a JSON object. */
  badJson(): Reply;
}

export function json(status: number, body: unknown, headers: Headers = {}): Reply {
  return {
    type: 'json',
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

// SSE is written here by hand, not with src/proxy/streaming/sse.ts, so a bug in the code
// under test cannot be mirrored by the fake it is tested against.
/** `data: <json>` events (OpenAI chat/completions, Gemini). */
export function dataEvent(payload: unknown, eol = '\n'): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}${eol}${eol}`;
}

/** Named events (Anthropic, OpenAI responses): `event: <name>` then `data: <json>`. */
export function namedEvent(name: string, payload: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

export function sse(chunks: string[], headers: Headers = {}): Reply {
  return {
    type: 'stream',
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers },
    chunks,
  };
}

export function seqId(prefix: string, seq: number): string {
  return `${prefix}${seq.toString(36).padStart(10, '0')}`;
}

/** An object body, or undefined when the body is not one. */
export function asObject(body: unknown): Record<string, unknown> | undefined {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}
