/**
 * Which event id each key command's events get: derived from the command's own identity, so a
 * retry re-appends the same ids and the store answers "exists" instead of writing twice.
 * - a key is created once and revoked once: `apikey:<id>:created`, `apikey:<id>:revoked`;
 * - a regeneration is named by the new secret's hash (random, so never reused);
 * - a limits change by the caller's change id (a setting may legitimately return to an old
 *   value, so the content alone cannot name it);
 * - a key moves to a project once: `apikey:<id>:moved:<projectId>`.
 */
import { deterministicId } from '../../shared/ids';
import { ApiKeyCommand } from './api-key.decider';

export function keyEventIdFor(command: ApiKeyCommand, index: number): string {
  return deterministicId(`${keyCommandKey(command)}#${index}`);
}

export function keyCommandKey(c: ApiKeyCommand): string {
  switch (c.type) {
    case 'CreateKey':
      return `apikey:${c.data.keyId}:created`;
    case 'RevokeKey':
      return `apikey:${c.data.keyId}:revoked`;
    case 'RegenerateKey':
      return `apikey:${c.data.keyId}:regenerated:${c.data.hash}`;
    case 'ChangeKeyLimits':
      return `apikey:${c.data.keyId}:limits:${c.data.changeId}`;
    case 'MoveKeyToProject':
      return `apikey:${c.data.keyId}:moved:${c.data.projectId}`;
  }
}
