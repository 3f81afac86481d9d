/**
 * One question, answered: the model is asked through the gateway (GatewayClient); when it calls
 * tools they are run (read-only, AssistantToolsService) and their results go back to it, at most
 * ASSISTANT_MAX_TOOL_ROUNDS times; its text streams to the person as it comes. Each round is one
 * proxied request, billed and listed under the `assistant` key. Nothing of the conversation is
 * written anywhere, and no log line carries any of it.
 */
import { AppConfig } from '../../config/config';
import { toolDefinitions } from '../domain/assistant-tools';
import { AssistantTurn } from '../domain/assistant-input';
import { AssistantToolsService } from './assistant-tools.service';
import { ChatMessage, GatewayClient, GatewayError } from './gateway-client';

/** What the person's panel is told, one SSE event each (README: "The dashboard assistant"). */
export type AssistantEvent =
  | { event: 'text'; data: { delta: string } }
  | { event: 'tool'; data: { name: string; status: string } }
  | { event: 'error'; data: { code: string; message: string; status?: number; requestId?: string | null } }
  | { event: 'done'; data: { requestIds: string[] } };

export interface Question {
  turns: AssistantTurn[];
  cookie: string;
  secret: string;
  signal: AbortSignal;
  now: Date;
  send: (e: AssistantEvent) => void;
}

const SYSTEM_PROMPT = (now: Date) =>
  [
    "You are the assistant of the Tollgate dashboard. You answer questions about the signed-in person's own account:",
    'balance, usage, API keys (metadata only), prices, and how to call a model through this gateway.',
    'Use the tools to read facts; never guess figures. Amounts are credits (1 credit = 1 USD).',
    'You cannot change anything: you have no tool that writes. To revoke or create a key, top up, or change a setting,',
    'tell the person where in the dashboard to do it.',
    `Now is ${now.toISOString()}.`,
  ].join(' ');

export async function answerQuestion(q: Question, gateway: GatewayClient, tools: AssistantToolsService, config: AppConfig): Promise<void> {
  const messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT(q.now) }, ...q.turns];
  const requestIds: string[] = [];
  const definitions = toolDefinitions();
  for (let round = 0; ; round++) {
    const last = round === config.ASSISTANT_MAX_TOOL_ROUNDS;
    let turn;
    try {
      turn = await gateway.chat(
        q.secret,
        {
          model: config.ASSISTANT_MODEL,
          messages,
          tools: definitions,
          // The last round may not call tools: the model must answer with what it has.
          tool_choice: last ? 'none' : 'auto',
          max_completion_tokens: config.ASSISTANT_MAX_OUTPUT_TOKENS,
        },
        (delta) => q.send({ event: 'text', data: { delta } }),
        q.signal,
      );
    } catch (err) {
      if (err instanceof GatewayError) {
        if (err.requestId) requestIds.push(err.requestId);
        q.send({ event: 'error', data: { code: err.code, message: err.message, status: err.status, requestId: err.requestId } });
        return;
      }
      throw err;
    }
    if (turn.requestId) requestIds.push(turn.requestId);
    if (turn.toolCalls.length === 0) break;
    if (last) {
      q.send({ event: 'error', data: { code: 'assistant_tool_rounds', message: `the model kept calling tools after ${config.ASSISTANT_MAX_TOOL_ROUNDS} rounds; ask a narrower question` } });
      return;
    }
    messages.push({ role: 'assistant', content: turn.text === '' ? null : turn.text, tool_calls: turn.toolCalls });
    for (const call of turn.toolCalls) {
      const outcome = await tools.run(call.function.name, call.function.arguments, { cookie: q.cookie, secret: q.secret, signal: q.signal });
      q.send({ event: 'tool', data: { name: outcome.name, status: outcome.status } });
      messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.content });
    }
  }
  q.send({ event: 'done', data: { requestIds } });
}
