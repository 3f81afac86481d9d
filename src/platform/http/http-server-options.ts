/**
 * Fastify's server options from the config: how long a client may take to send a request,
 * how long an idle keep-alive connection stays, and whose X-Forwarded-For is believed.
 *
 * Node's `headersTimeout` and `requestTimeout` count only until the request is fully received
 * (its connection then leaves the parser's active list), so an answer streamed for minutes is
 * never cut by them. Fastify's `connectionTimeout` (a socket idle timer) is left off on purpose:
 * it would also cut an answer that pauses, which is UPSTREAM_TIMEOUT_MS's to bound.
 */
import type { FastifyHttpOptions, FastifyReply, FastifyRequest } from 'fastify';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { AppConfig } from '../../config/config';

export interface ConnectionErrorAnswers {
  /** Errors of Node's HTTP parser (timeouts, oversized or malformed headers), before any route. */
  clientErrorHandler: (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => void;
  /** Fastify's refusals before routing (undecodable URL, over-long path segment). */
  frameworkErrors: (err: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply) => void;
}

export function httpServerOptions(config: AppConfig, answers?: ConnectionErrorAnswers): FastifyHttpOptions<Server> {
  // Node checks the two timeouts on an interval (30 s by default), which would add up to 30 s to
  // them: check often enough that a stalled request is closed close to its bound.
  const shortest = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, config.HTTP_REQUEST_TIMEOUT_MS);
  const connectionsCheckingInterval = Math.max(50, Math.min(1_000, Math.floor(shortest / 4)));
  return {
    logger: false, // no request (and no body) is ever logged by Fastify
    forceCloseConnections: 'idle',
    requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: config.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval,
    },
    // request.ip is the socket's address unless the socket is a trusted proxy; then it is the
    // nearest address in X-Forwarded-For that is not itself one. The proxy's front door reads
    // the same setting the same way (client-address.ts).
    trustProxy: config.TRUST_PROXY,
    ...(answers ? { clientErrorHandler: answers.clientErrorHandler, frameworkErrors: answers.frameworkErrors } : {}),
  };
}
