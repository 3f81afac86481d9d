/**
 * An error answer in the endpoint's own format, for anything thrown before a byte of the answer
 * was sent (after that, a stream ends with an error event instead: streaming/stream-error.ts).
 */
import { Headers } from '../relay';
import { ApiFormat, ProxyError, errorBody } from './proxy-error';

export function errorResponse(format: ApiFormat, err: ProxyError, requestId: string): { status: number; headers: Headers; body: string } {
  const headers: Headers = { 'content-type': 'application/json', 'x-request-id': requestId };
  if (err.extra.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.extra.retryAfterSeconds);
  return { status: err.status, headers, body: JSON.stringify(errorBody(format, err)) };
}
