/**
 * What a question to the assistant may be: `{ "messages": [{ "role", "content" }] }`, the
 * conversation so far as the panel keeps it (the server keeps nothing), ending with the
 * person's question. Only `user` and `assistant` turns: a client cannot write the system
 * prompt or a tool's result. Bounded in count and in characters, each and all together.
 */
import { z } from 'zod';
import { ApiError } from '../../platform/http/api-error';
import { parseWith } from '../../platform/http/validation';

export interface InputLimits {
  maxMessages: number;
  maxChars: number;
}

export interface AssistantTurn {
  role: 'user' | 'assistant';
  content: string;
}

export function parseAssistantInput(body: unknown, limits: InputLimits): AssistantTurn[] {
  const schema = z.strictObject({
    messages: z
      .array(
        z.strictObject({
          role: z.enum(['user', 'assistant']),
          content: z.string().min(1).max(limits.maxChars, `at most ${limits.maxChars} characters`),
        }),
      )
      .min(1)
      .max(limits.maxMessages, `at most ${limits.maxMessages} messages; start a new conversation`),
  });
  const { messages } = parseWith(schema, body);
  const total = messages.reduce((n, m) => n + m.content.length, 0);
  if (total > limits.maxChars) {
    throw new ApiError('validation_failed', `messages: at most ${limits.maxChars} characters in all (got ${total}); start a new conversation`, {
      param: 'messages',
    });
  }
  if (messages[messages.length - 1].role !== 'user') {
    throw new ApiError('validation_failed', 'messages: the last message must be the question (role user)', { param: 'messages' });
  }
  return messages;
}
