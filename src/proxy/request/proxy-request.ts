/** One proxied request as the routes hand it to the proxy service: authenticated, its body read once. */
import { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { KeyPrincipal } from '../../keys/application/api-key-authenticator';
import { Endpoint } from '../endpoints';
import { TraceSpan } from '../../platform/tracing/tracing';

export interface ProxyRequest {
  endpoint: Endpoint;
  requestId: string;
  principal: KeyPrincipal;
  body: Record<string, unknown>;
  raw: Buffer;
  pathModel: string | null;
  /** The query string to forward (the caller removed our own key from it), with its '?'. */
  query: string;
  headers: IncomingHttpHeaders;
  res: ServerResponse;
  startedAt: number; // performance.now()
  startedAtDate: Date;
  /** The request's root span (NO_SPAN when tracing is off): hold, upstream and settle are its children. */
  trace: TraceSpan;
}
