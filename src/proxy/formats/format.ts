/**
 * What the gateway knows of one provider API format (OpenAI, Anthropic, Gemini), beside its
 * endpoints (see ../endpoints.ts): how its errors are written, where its SDK sends the client's
 * key, how a request goes upstream, and where an answer says its usage. One file per format
 * implements this; index.ts looks them up by ApiFormat.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { EndpointKind } from '../endpoints';
import type { ApiFormat, ProxyError } from '../http/proxy-error';
import type { TokenUsage } from '../pricing/cost';

export interface Format {
  readonly name: ApiFormat;
  /** One of the gateway's own errors as this format's error body. */
  errorBody(err: ProxyError): unknown;
  /**
   * The same error inside a stream whose 200 has already gone out, as the provider writes its
   * own mid-stream errors, so the client's official SDK raises it instead of ending quietly.
   */
  streamError(err: ProxyError, kind: EndpointKind): string;
  /** The client's key from the header this format's SDK sends it in; null when that header is absent. */
  keyFromHeaders(headers: IncomingHttpHeaders): string | null;
  /** The upstream request's headers: the channel's credentials, and the client headers that change the API's behaviour. */
  upstreamHeaders(apiKey: string, client: IncomingHttpHeaders): Record<string, string>;
  /** The provider's own usage figures in a parsed JSON answer; null when it carries none usable. */
  usageOfAnswer(json: unknown): TokenUsage | null;
}

export type Json = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is Json => v !== null && typeof v === 'object';

/** An array's items, or none when the value is not an array (a field a client or provider may omit or misspell). */
export const listOf = (v: unknown): readonly unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);

/** Copies the client headers a format forwards (they change what the API does, not who pays). */
export function forwarded(names: readonly string[], client: IncomingHttpHeaders): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  for (const name of names) {
    const v = client[name];
    if (typeof v === 'string') h[name] = v;
  }
  return h;
}
