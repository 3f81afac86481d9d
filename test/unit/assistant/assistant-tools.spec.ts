/**
 * The assistant's tools (src/assistant/domain/assistant-tools.ts): only the read-only tools
 * exist, each reads one fixed GET, and a model's arguments are checked before anything runs.
 */
import { planTool, quickStart, toolDefinitions } from '../../../src/assistant/domain/assistant-tools';

describe('assistant tools', () => {
  it('offers only read tools, with plain JSON Schema parameters', () => {
    const defs = toolDefinitions();
    expect(defs.map((d) => d.function.name).sort()).toEqual(['get_balance', 'get_prices', 'get_usage', 'how_to_call', 'list_keys', 'list_recent_requests']);
    for (const d of defs) {
      expect(d.type).toBe('function');
      expect(d.function.parameters).toMatchObject({ type: 'object', additionalProperties: false });
      expect(d.function.parameters).not.toHaveProperty('$schema');
    }
  });

  it('offers usage by day and model (with top), but no other pair', () => {
    const usage = toolDefinitions().find((d) => d.function.name === 'get_usage')!.function.parameters as {
      properties: { group_by: { enum: string[] }; top: { type: string; minimum: number; maximum: number; description: string } };
    };
    expect(usage.properties.group_by.enum).toEqual(['day', 'model', 'key', 'project', 'day,model']);
    expect(usage.properties.top).toMatchObject({ type: 'integer', minimum: 1, maximum: 50 });
    expect(usage.properties.top.description).toMatch(/day,model only/);
  });

  it.each(['revoke_key', 'create_key', 'regenerate_key', 'delete_account', '__proto__', 'constructor', 'toString', ''])(
    'answers %j as an unknown tool, whatever its arguments',
    (name) => {
      expect(planTool(name, '{"key_id":"k"}')).toEqual({ kind: 'unknown_tool', name });
    },
  );

  it('maps each tool to its one GET, query values encoded', () => {
    expect(planTool('get_balance', '')).toEqual({ kind: 'account_api', path: '/api/balance' });
    expect(planTool('get_balance', '{}')).toEqual({ kind: 'account_api', path: '/api/balance' });
    expect(planTool('get_usage', '{"from":"2026-11-01","to":"2026-11-30","group_by":"model"}')).toEqual({
      kind: 'account_api',
      path: '/api/usage?from=2026-11-01&to=2026-11-30&group_by=model',
    });
    expect(planTool('get_usage', '{"group_by":"day,model"}')).toEqual({ kind: 'account_api', path: '/api/usage?group_by=day%2Cmodel' });
    expect(planTool('get_usage', '{"from":"2026-11-01","group_by":"day,model","top":3}')).toEqual({
      kind: 'account_api',
      path: '/api/usage?from=2026-11-01&group_by=day%2Cmodel&top=3',
    });
    expect(planTool('list_recent_requests', '{}')).toEqual({ kind: 'account_api', path: '/api/requests?limit=10' });
    expect(planTool('list_keys', '{}')).toEqual({ kind: 'account_api', path: '/api/projects?limit=200' });
    expect(planTool('get_prices', '{"model":"gpt-4o"}')).toEqual({ kind: 'catalog', model: 'gpt-4o' });
    expect(planTool('how_to_call', '{}')).toEqual({ kind: 'quick_start', format: 'openai' });
  });

  it.each([
    ['get_balance', '{not json', /not valid JSON/],
    ['get_balance', '{"account_id":"someone-else"}', /account_id|unrecognized|Unrecognized/],
    ['get_usage', '{"from":"2026-01-01\'; DROP TABLE x"}', /from/],
    ['get_usage', '{"group_by":"everything"}', /group_by/],
    ['get_usage', '{"group_by":"day,key"}', /group_by/],
    ['get_usage', '{"group_by":"model,day"}', /group_by/],
    ['get_usage', '{"group_by":"day,model,key"}', /group_by/],
    ['get_usage', '{"group_by":["day","model"]}', /group_by/],
    ['get_usage', '{"top":3}', /^top: only with group_by day,model$/],
    ['get_usage', '{"group_by":"model","top":3}', /^top: only with group_by day,model$/],
    ['get_usage', '{"group_by":"day,model","top":0}', /top/],
    ['get_usage', '{"group_by":"day,model","top":51}', /top/],
    ['get_usage', '{"group_by":"day,model","top":2.5}', /top/],
    ['get_usage', '{"group_by":"day,model","top":"3"}', /top/],
    ['get_usage', '{"group_by":"day,model","top":1e400}', /top/],
    ['list_recent_requests', '{"limit":100000}', /limit/],
    ['get_usage', '[1,2]', /arguments|expected object/],
    ['get_balance', 'null', /expected object|arguments/],
  ])('refuses %s with arguments %s before anything runs', (name, args, message) => {
    const plan = planTool(name, args);
    expect(plan.kind).toBe('bad_arguments');
    expect((plan as { message: string }).message).toMatch(message);
  });

  it('writes quick-start snippets for this gateway, never with a real secret', () => {
    for (const format of ['openai', 'anthropic', 'gemini'] as const) {
      const q = quickStart('https://gw.example', format);
      expect(q.snippet).toContain('https://gw.example');
      expect(q.snippet).toContain('tg-…');
    }
    expect(quickStart('https://gw.example', 'openai').baseUrl).toBe('https://gw.example/v1');
  });
});
