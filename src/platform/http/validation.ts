/**
 * Reading what a client sent with a zod schema: the typed value, or ApiError
 * `validation_failed` naming the first field at fault (`name: must be at most 64 characters`),
 * so a script can tell which input to fix. Unknown fields are refused where the schema is strict.
 */
import { z } from 'zod';
import { ApiError } from './api-error';

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' = 'body'): z.infer<S> {
  if (where === 'body' && (value === undefined || value === null)) value = {};
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.map(String).join('.');
  const field = path || where;
  const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` : issue.message;
  throw new ApiError('validation_failed', `${field}: ${message}`, { param: path || undefined });
}
