/**
 * Errors Node's HTTP parser raises on a connection before any route runs (Fastify's
 * `clientErrorHandler`): a request that took longer than HTTP_HEADERS_TIMEOUT_MS /
 * HTTP_REQUEST_TIMEOUT_MS to arrive (408), headers over Node's size limit (431), and anything
 * unparsable (400). Answered in the shape of the API the path belongs to, as the SDKs expect.
 *
 * The path is known when the request line was parsed: from the in-flight request (timeouts,
 * whose headers arrived) or from the start of the bytes the parser choked on (`rawPacket`).
 * When it is not (headers so large the request line was in an earlier packet), the answer is
 * the plain shape Fastify gives by default. Nothing here is logged: the raw packet is content.
 *
 * Fastify's own refusals before routing (`frameworkErrors`: a URL it cannot decode, a path
 * segment longer than its maxParamLength) get the same treatment, and never echo the path.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { IncomingMessage, STATUS_CODES, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ProxyError, ProxyErrorCode, errorBody, formatOfPath } from './proxy-error';

type ConnectionError = Error & { code?: string; rawPacket?: unknown };

const CODE: Record<number, ProxyErrorCode> = { 408: 'request_timeout', 431: 'headers_too_large', 400: 'invalid_request' };
const MESSAGE: Record<number, string> = {
  408: 'the request did not arrive in time',
  431: 'the request headers are too large',
  400: 'the request could not be parsed as HTTP',
};

export function proxyClientErrorHandler(err: ConnectionError, socket: Socket): void {
  // A reset socket has nobody left to answer (as in Fastify's default handler).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse & { req?: IncomingMessage } })._httpMessage;
  // Never write into an answer already under way: the client would read a corrupt response.
  if (socket.writable && !inFlight?.headersSent) {
    const url = inFlight?.req?.url ?? requestLinePath(err.rawPacket);
    const format = url === null ? null : formatOfPath(url);
    const requestId = randomUUID();
    const body = format
      ? JSON.stringify(errorBody(format, new ProxyError(CODE[status], MESSAGE[status])))
      : JSON.stringify({ error: STATUS_CODES[status], message: MESSAGE[status], statusCode: status });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** The path of `METHOD /path HTTP/1.1` at the start of a packet, or null. Reads at most 2 KB. */
function requestLinePath(packet: unknown): string | null {
  if (!Buffer.isBuffer(packet)) return null;
  const head = packet.subarray(0, 2048).toString('latin1');
  const m = /^[A-Z]{3,10} (\/[^ \r\n]*) HTTP\/1\.[01]\r?\n/.exec(head);
  return m ? m[1] : null;
}

/** Fastify's refusals before routing, in the path's API shape (its default quotes the whole path back). */
export function proxyFrameworkErrors(err: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const e =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new ProxyError('uri_too_long', 'a segment of the path is too long')
      : new ProxyError('invalid_request', 'the URL could not be read');
  const format = formatOfPath(request.raw.url ?? '/');
  const body = format ? errorBody(format, e) : { error: STATUS_CODES[e.status], message: e.message, statusCode: e.status };
  void reply.code(e.status).headers({ 'content-type': 'application/json', 'x-request-id': randomUUID() }).send(JSON.stringify(body));
}
