/**
 * The events of one project, all on stream `project-<projectId>`. A project groups an account's
 * API keys; its name is the owner's own label, unique among the account's live projects
 * whatever its case. It is free text that may hold a person's name, so it is stored sealed:
 * with `nameOwner` set, `name` is a vault value sealed for that person, the account holder
 * (src/compliance/account-names.ts); without it (older events, or an account no person holds)
 * `name` is plain text. The decider sees names opened (ProjectsService opens and seals them).
 */
export type ProjectEvent =
  | { type: 'ProjectCreated'; data: { projectId: string; accountId: string; name: string; nameOwner?: string; createdAt: string } }
  | { type: 'ProjectRenamed'; data: { projectId: string; name: string; nameOwner?: string } }
  | { type: 'ProjectArchived'; data: { projectId: string; archivedAt: string } };

export type ProjectEventType = ProjectEvent['type'];

export const PROJECT_EVENT_TYPES: readonly ProjectEventType[] = ['ProjectCreated', 'ProjectRenamed', 'ProjectArchived'];
const KNOWN = new Set<string>(PROJECT_EVENT_TYPES);

export const PROJECT_STREAM_PREFIX = 'project-';
export const projectStream = (projectId: string) => `${PROJECT_STREAM_PREFIX}${projectId}`;
export const projectIdOfStream = (streamId: string) => streamId.slice(PROJECT_STREAM_PREFIX.length);

/** From storage. An unknown type is an error, not a silent skip. */
export function decodeProjectEvent(type: string, data: Record<string, unknown>): ProjectEvent {
  if (!KNOWN.has(type)) throw new Error(`unknown project event type ${type}`);
  return { type, data } as ProjectEvent;
}
