/**
 * The project decider: pure functions over one project. Time comes in as an argument.
 *
 * Invariants (tested in test/unit/projects):
 * - a project is created once; creating it again for the same account and name is a retry;
 * - an archived project stays archived and cannot be renamed; archiving it again is a no-op;
 * - a rename to the same name appends nothing.
 * The uniqueness of a name among an account's live projects spans streams: ProjectsService
 * checks it under a per-account lock, on the opened names (they are stored sealed, migration 027).
 */
import { assertNever } from '../../shared/assert-never';
import { ProjectError } from './project.errors';
import { ProjectEvent } from './project.events';

export interface ProjectState {
  exists: boolean;
  projectId: string;
  accountId: string;
  name: string;
  createdAt: string;
  archivedAt: string | null;
}

export const initialProjectState = (): ProjectState => ({ exists: false, projectId: '', accountId: '', name: '', createdAt: '', archivedAt: null });

export type ProjectCommand =
  | { type: 'CreateProject'; data: { projectId: string; accountId: string; name: string } }
  | { type: 'RenameProject'; data: { projectId: string; name: string } }
  | { type: 'ArchiveProject'; data: { projectId: string } };

export const MAX_PROJECT_NAME = 100;
// Control characters are exactly what this pattern is for.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A project name as people type it: trimmed, 1..100 characters, no control characters. */
export function projectName(value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new ProjectError('invalid_command', 'a project name must be given');
  const name = value.trim();
  if (name.length > MAX_PROJECT_NAME) throw new ProjectError('invalid_command', `a project name is at most ${MAX_PROJECT_NAME} characters`);
  if (CONTROL.test(name)) throw new ProjectError('invalid_command', 'a project name must not contain control characters');
  return name;
}

/** The form two names are compared in (ProjectsService compares the account's opened live names so). */
export const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function decideProject(command: ProjectCommand, state: ProjectState, ctx: { now: Date }): ProjectEvent[] {
  const now = ctx.now.toISOString();
  if (command.type === 'CreateProject') {
    const d = command.data;
    const name = projectName(d.name);
    if (state.exists) {
      if (state.accountId === d.accountId && state.name === name) return []; // a retry
      throw new ProjectError('invalid_command', `project ${d.projectId} already exists`);
    }
    if (!d.accountId) throw new ProjectError('invalid_command', 'an account must be given');
    return [{ type: 'ProjectCreated', data: { projectId: d.projectId, accountId: d.accountId, name, createdAt: now } }];
  }
  if (!state.exists) throw new ProjectError('project_not_found', `no project ${command.data.projectId}`);
  switch (command.type) {
    case 'RenameProject': {
      const name = projectName(command.data.name);
      if (state.archivedAt !== null) throw new ProjectError('project_archived', `project ${state.projectId} is archived`);
      if (name === state.name) return [];
      return [{ type: 'ProjectRenamed', data: { projectId: state.projectId, name } }];
    }
    case 'ArchiveProject':
      if (state.archivedAt !== null) return [];
      return [{ type: 'ProjectArchived', data: { projectId: state.projectId, archivedAt: now } }];
    default:
      return assertNever(command);
  }
}

export function evolveProject(state: ProjectState, event: ProjectEvent): ProjectState {
  switch (event.type) {
    case 'ProjectCreated': {
      const { projectId, accountId, name, createdAt } = event.data;
      return { exists: true, projectId, accountId, name, createdAt, archivedAt: null };
    }
    case 'ProjectRenamed':
      return { ...state, name: event.data.name };
    case 'ProjectArchived':
      return { ...state, archivedAt: event.data.archivedAt };
    default:
      return assertNever(event);
  }
}

export const evolveProjectAll = (events: ProjectEvent[], state = initialProjectState()) => events.reduce(evolveProject, state);

/**
 * Event ids from the command's identity, so a retried command re-appends the same ids. A rename
 * is named by the version it was decided at too: a project may get back an earlier name.
 */
export function projectEventKey(command: ProjectCommand, version: bigint): string {
  switch (command.type) {
    case 'CreateProject':
      return `project:${command.data.projectId}:created`;
    case 'RenameProject':
      return `project:${command.data.projectId}:renamed@${version}`;
    case 'ArchiveProject':
      return `project:${command.data.projectId}:archived`;
  }
}
