/**
 * The assistant's way to the model: the gateway's own OpenAI endpoint, over the loopback
 * interface of this very process, with the account's `assistant` key. Everything a client's
 * request goes through applies as it is: authentication, rate limits and spending caps, the
 * hold, routing, metering, the settle and the metadata-only request log row. Nothing here
 * charges or logs on its own.
 *
 * Streams the answer: text deltas are handed on as they arrive, tool calls are put together
 * from their pieces (OpenAI's `delta.tool_calls[i]`). Aborting the signal closes the socket,
 * which the proxy takes as a client gone: it aborts the upstream call and settles for what was
 * delivered.
 */
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { SseParser } from '../../proxy/streaming/sse';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatTurn {
  requestId: string | null;
  text: string;
  toolCalls: ToolCall[];
}

/** The gateway refused or broke off: its status, its code and message, as its OpenAI error said. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
  }
}

/** Most characters of a model's tool-call arguments kept; a longer call is refused to the model. */
const MAX_ARGUMENTS = 16_000;

@Injectable()
export class GatewayClient implements OnModuleDestroy {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }

  /** This process's own listening address, as a client on this machine reaches it. */
  private origin(): string {
    const address = (this.adapterHost.httpAdapter.getHttpServer() as { address(): AddressInfo | string | null }).address();
    if (!address || typeof address === 'string') throw new Error('the API is not listening on a TCP port');
    const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  async chat(secret: string, body: Record<string, unknown>, onText: (delta: string) => void, signal: AbortSignal): Promise<ChatTurn> {
    const res = await request(`${this.origin()}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
    const requestId = headerOf(res.headers['x-request-id']);
    const type = headerOf(res.headers['content-type']) ?? '';
    if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
      const text = await res.body.text();
      throw gatewayError(res.statusCode, text, requestId);
    }
    const turn: ChatTurn = { requestId, text: '', toolCalls: [] };
    const parser = new SseParser();
    let done = false;
    const take = (data: string) => {
      if (data === '[DONE]') {
        done = true;
        return;
      }
      const chunk = JSON.parse(data) as StreamChunk;
      if (chunk.error) throw gatewayError(200, JSON.stringify({ error: chunk.error }), requestId);
      const delta = chunk.choices?.[0]?.delta;
      if (!delta) return;
      if (typeof delta.content === 'string' && delta.content !== '') {
        turn.text += delta.content;
        onText(delta.content);
      }
      for (const piece of delta.tool_calls ?? []) addToolCallPiece(turn.toolCalls, piece);
    };
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      for (const ev of parser.push(chunk)) take(ev.data);
    }
    for (const ev of parser.end()) take(ev.data);
    if (!done) throw new GatewayError(502, 'upstream_error', 'the answer was broken off', requestId);
    return turn;
  }

  /** GET of the gateway's own catalog (models this key may use, with their prices). */
  async models(secret: string, signal: AbortSignal): Promise<unknown> {
    const res = await request(`${this.origin()}/v1/models`, { method: 'GET', dispatcher: this.agent, headers: { authorization: `Bearer ${secret}` }, signal });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw gatewayError(res.statusCode, text, headerOf(res.headers['x-request-id']));
    return JSON.parse(text) as unknown;
  }
}

interface StreamChunk {
  error?: unknown;
  choices?: Array<{ delta?: { content?: string | null; tool_calls?: ToolCallPiece[] } }>;
}

interface ToolCallPiece {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

function addToolCallPiece(calls: ToolCall[], piece: ToolCallPiece): void {
  const index = typeof piece.index === 'number' && piece.index >= 0 && piece.index < 16 ? piece.index : calls.length;
  const call = (calls[index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
  if (typeof piece.id === 'string') call.id = piece.id.slice(0, 200);
  if (typeof piece.function?.name === 'string') call.function.name = (call.function.name + piece.function.name).slice(0, 200);
  if (typeof piece.function?.arguments === 'string' && call.function.arguments.length <= MAX_ARGUMENTS) {
    call.function.arguments += piece.function.arguments;
  }
}

function headerOf(v: string | string[] | undefined): string | null {
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/** The OpenAI error body the gateway answered, as a GatewayError (never its raw text: it is not ours to log). */
function gatewayError(status: number, text: string, requestId: string | null): GatewayError {
  let code = status === 200 ? 'upstream_error' : `http_${status}`;
  let message = `the gateway answered ${status}`;
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; type?: unknown; message?: unknown } }).error;
    if (typeof e?.code === 'string') code = e.code;
    else if (typeof e?.type === 'string') code = e.type;
    if (typeof e?.message === 'string') message = e.message.slice(0, 500);
  } catch {
    // not JSON: the status says enough
  }
  return new GatewayError(status, code, message, requestId);
}
