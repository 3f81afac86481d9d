/**
 * Runs the assistant's tools (domain/assistant-tools.ts) as the signed-in person: each account
 * API read is a GET injected into this very app (Fastify's inject: no socket) with the person's
 * own session cookie and nothing else, so it passes the same guard, reads through the same
 * services and answers the same JSON as the dashboard's own call. Only GETs of the paths the
 * plan names are made, never a write (a cookie write without the CSRF token would be refused
 * anyway). Results go to the model only, bounded in size; nothing is kept.
 */
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { ToolPlan, planTool, quickStart } from '../domain/assistant-tools';
import { GatewayClient, GatewayError } from './gateway-client';

/** Most characters of one tool result handed to the model. */
export const MAX_TOOL_RESULT_CHARS = 12_000;
const MAX_PROJECTS_READ = 20;

export interface ToolOutcome {
  name: string;
  /** ok: the tool ran; refused: unknown tool or bad arguments; failed: the read itself failed. */
  status: 'ok' | 'unknown_tool' | 'bad_arguments' | 'failed';
  /** What the model is told, as JSON text. */
  content: string;
}

export interface ToolCaller {
  cookie: string;
  secret: string;
  signal: AbortSignal;
}

@Injectable()
export class AssistantToolsService {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly gateway: GatewayClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(name: string, argumentsJson: string, caller: ToolCaller): Promise<ToolOutcome> {
    const plan = planTool(name, argumentsJson);
    if (plan.kind === 'unknown_tool') {
      return { name: plan.name, status: 'unknown_tool', content: JSON.stringify({ error: `unknown tool ${JSON.stringify(plan.name)}; this assistant can only read` }) };
    }
    if (plan.kind === 'bad_arguments') return { name, status: 'bad_arguments', content: JSON.stringify({ error: plan.message }) };
    try {
      return { name, status: 'ok', content: bounded(await this.read(plan, caller)) };
    } catch (err) {
      const message = err instanceof ReadFailed || err instanceof GatewayError ? err.message : 'the read failed';
      return { name, status: 'failed', content: JSON.stringify({ error: message }) };
    }
  }

  private async read(plan: Exclude<ToolPlan, { kind: 'unknown_tool' | 'bad_arguments' }>, caller: ToolCaller): Promise<unknown> {
    switch (plan.kind) {
      case 'quick_start':
        return quickStart(this.config.PUBLIC_URL, plan.format);
      case 'catalog': {
        const list = (await this.gateway.models(caller.secret, caller.signal)) as { data?: Array<{ id?: string }> };
        const data = (list.data ?? []).filter((m) => plan.model === null || m.id === plan.model);
        return plan.model !== null && data.length === 0 ? { error: `no model ${JSON.stringify(plan.model)} is callable here` } : { data };
      }
      case 'account_api':
        if (plan.path.startsWith('/api/projects')) return this.keys(caller);
        return this.get(plan.path, caller);
    }
  }

  /** Projects, each with its keys (GET /api/projects, then GET /api/projects/{id}/keys). */
  private async keys(caller: ToolCaller): Promise<unknown> {
    const projects = (await this.get('/api/projects?limit=200', caller)) as { data: Array<{ id: string; name: string }> };
    const out = [];
    for (const p of projects.data.slice(0, MAX_PROJECTS_READ)) {
      const keys = (await this.get(`/api/projects/${encodeURIComponent(p.id)}/keys?limit=200`, caller)) as { data: unknown[] };
      out.push({ project: p.name, keys: keys.data });
    }
    return { projects: out, more: projects.data.length > MAX_PROJECTS_READ };
  }

  private async get(path: string, caller: ToolCaller): Promise<unknown> {
    if (caller.signal.aborted) throw new ReadFailed('the question was abandoned');
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const res = await fastify.inject({ method: 'GET', url: path, headers: { cookie: caller.cookie, accept: 'application/json' } });
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      throw new ReadFailed(`the account API answered ${res.statusCode}`);
    }
    if (res.statusCode !== 200) {
      const e = (body as { error?: { code?: string; message?: string } }).error;
      throw new ReadFailed(`${e?.code ?? res.statusCode}: ${e?.message ?? 'the account API refused'}`);
    }
    return body;
  }
}

class ReadFailed extends Error {}

function bounded(value: unknown): string {
  const text = JSON.stringify(value);
  if (text.length <= MAX_TOOL_RESULT_CHARS) return text;
  return JSON.stringify({ truncated: true, partial: text.slice(0, MAX_TOOL_RESULT_CHARS - 100) });
}
