/**
 * What the assistant's model may call: read-only tools, each a GET of the account API (or of the
 * gateway's own catalog, or a fixed text). There is no write tool, and nothing else is run: a
 * call of any other name (say `revoke_key`) is answered to the model as an unknown tool.
 *
 * Pure: the arguments the model sent are checked here and turned into the one path each tool
 * reads; who runs it (with the person's own session) is application/assistant-tools.service.ts.
 */
import { z } from 'zod';
import { MAX_USAGE_TOP } from '../../usage-api/domain/usage-window';

export type ToolPlan =
  | { kind: 'account_api'; path: string }
  | { kind: 'catalog'; model: string | null }
  | { kind: 'quick_start'; format: QuickStartFormat }
  | { kind: 'unknown_tool'; name: string }
  | { kind: 'bad_arguments'; message: string };

export type QuickStartFormat = 'openai' | 'anthropic' | 'gemini';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD');
const ARGUMENTS = {
  get_balance: z.strictObject({}),
  // day,model (a line per day and model) and not day,key: what "which model cost what, day by
  // day" asks; a line per day and key the model can already build from group_by key and the log.
  // `top` keeps that answer short enough to reach the model whole (MAX_TOOL_RESULT_CHARS).
  get_usage: z
    .strictObject({
      from: day.optional(),
      to: day.optional(),
      group_by: z.enum(['day', 'model', 'key', 'project', 'day,model']).optional(),
      top: z.number().int().min(1).max(MAX_USAGE_TOP).optional().describe('With group_by day,model only: name the N costliest models; the others are summed per day in one line whose subgroup is null.'),
    })
    .refine((a) => a.top === undefined || a.group_by === 'day,model', { message: 'only with group_by day,model', path: ['top'] }),
  list_recent_requests: z.strictObject({ limit: z.number().int().min(1).max(50).optional() }),
  list_keys: z.strictObject({}),
  get_prices: z.strictObject({ model: z.string().min(1).max(200).optional() }),
  how_to_call: z.strictObject({ format: z.enum(['openai', 'anthropic', 'gemini']).optional() }),
} as const;

export type ToolName = keyof typeof ARGUMENTS;

const DESCRIPTIONS: Record<ToolName, string> = {
  get_balance: "The account's balance in credits (1 credit = 1 USD): available, held by requests under way, frozen, owed, free requests left.",
  get_usage:
    'Requests, tokens and cost summed by UTC day, model, key or project, or by day and model (day,model: a line per day and model, the day in group, the model in subgroup); default the last 30 days, at most 92.',
  list_recent_requests: 'The most recent requests (metadata only: model, tokens, cost, status, key).',
  list_keys: "The account's projects and their API keys: names, display prefix, status, limits, last use. Never a secret.",
  get_prices: 'Models callable through the gateway with their prices in credits per million tokens (margin included).',
  how_to_call: "How to call a model through this gateway with a provider's official SDK (base URL and a snippet).",
};

/** The tools as OpenAI's chat/completions `tools` field spells them. */
export function toolDefinitions(): Array<{ type: 'function'; function: { name: string; description: string; parameters: unknown } }> {
  return (Object.keys(ARGUMENTS) as ToolName[]).map((name) => ({
    type: 'function' as const,
    function: { name, description: DESCRIPTIONS[name], parameters: withoutDialect(z.toJSONSchema(ARGUMENTS[name])) },
  }));
}

const isToolName = (name: string): name is ToolName => Object.prototype.hasOwnProperty.call(ARGUMENTS, name);

/** What a call of `name` with these arguments (the model's JSON text) reads; never more than one GET. */
export function planTool(name: string, argumentsJson: string): ToolPlan {
  if (!isToolName(name)) return { kind: 'unknown_tool', name: name.slice(0, 100) };
  let raw: unknown;
  try {
    raw = argumentsJson.trim() === '' ? {} : JSON.parse(argumentsJson);
  } catch {
    return { kind: 'bad_arguments', message: 'the arguments are not valid JSON' };
  }
  const parsed = ARGUMENTS[name].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'bad_arguments', message: `${issue.path.map(String).join('.') || 'arguments'}: ${issue.message}` };
  }
  const args = parsed.data as Record<string, string | number | undefined>;
  switch (name) {
    case 'get_balance':
      return { kind: 'account_api', path: '/api/balance' };
    case 'get_usage':
      return { kind: 'account_api', path: `/api/usage${query({ from: args.from, to: args.to, group_by: args.group_by, top: args.top })}` };
    case 'list_recent_requests':
      return { kind: 'account_api', path: `/api/requests${query({ limit: args.limit ?? 10 })}` };
    case 'list_keys':
      return { kind: 'account_api', path: '/api/projects?limit=200' };
    case 'get_prices':
      return { kind: 'catalog', model: (args.model as string | undefined) ?? null };
    case 'how_to_call':
      return { kind: 'quick_start', format: (args.format as QuickStartFormat | undefined) ?? 'openai' };
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The SDK snippets of the quick start, for the gateway at `publicUrl`. */
export function quickStart(publicUrl: string, format: QuickStartFormat): { format: QuickStartFormat; baseUrl: string; snippet: string; note: string } {
  const note = 'Use an API key of your account (tg-…), made under Projects → Keys; the secret is shown once when it is made.';
  switch (format) {
    case 'openai':
      return {
        format,
        baseUrl: `${publicUrl}/v1`,
        snippet: `from openai import OpenAI\nclient = OpenAI(base_url="${publicUrl}/v1", api_key="tg-…")\nclient.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}])`,
        note,
      };
    case 'anthropic':
      return {
        format,
        baseUrl: publicUrl,
        snippet: `from anthropic import Anthropic\nclient = Anthropic(base_url="${publicUrl}", api_key="tg-…")\nclient.messages.create(model="claude-haiku-4-5", max_tokens=256, messages=[{"role": "user", "content": "Hello"}])`,
        note,
      };
    case 'gemini':
      return {
        format,
        baseUrl: publicUrl,
        snippet: `from google import genai\nclient = genai.Client(api_key="tg-…", http_options={"base_url": "${publicUrl}"})\nclient.models.generate_content(model="gemini-2.0-flash", contents="Hello")`,
        note,
      };
  }
}

/** Providers read plain JSON Schema objects; the `$schema` dialect line is noise to them. */
function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}
