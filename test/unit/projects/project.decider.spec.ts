/**
 * The project decider: given the project's history (folded with the real evolveProject), when a
 * command, then these events, or this error code.
 */
import { ProjectCommand, decideProject, evolveProjectAll, projectEventKey, projectName } from '../../../src/projects/domain/project.decider';
import { ProjectError, ProjectErrorCode } from '../../../src/projects/domain/project.errors';
import { ProjectEvent, decodeProjectEvent } from '../../../src/projects/domain/project.events';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const P = 'p-1';
const created: ProjectEvent = { type: 'ProjectCreated', data: { projectId: P, accountId: 'acc-1', name: 'Web', createdAt: '2026-05-01T00:00:00.000Z' } };
const archived: ProjectEvent = { type: 'ProjectArchived', data: { projectId: P, archivedAt: '2026-05-02T00:00:00.000Z' } };
const create = (over: Partial<Extract<ProjectCommand, { type: 'CreateProject' }>['data']> = {}): ProjectCommand => ({
  type: 'CreateProject',
  data: { projectId: P, accountId: 'acc-1', name: 'Web', ...over },
});
const rename = (name: string): ProjectCommand => ({ type: 'RenameProject', data: { projectId: P, name } });
const archive: ProjectCommand = { type: 'ArchiveProject', data: { projectId: P } };

const when = (history: ProjectEvent[], c: ProjectCommand) => decideProject(c, evolveProjectAll(history), { now: NOW });

function throwsCode(history: ProjectEvent[], c: ProjectCommand, code: ProjectErrorCode): void {
  let thrown: unknown;
  try {
    thrown = new Error(`expected ${code}, got ${JSON.stringify(when(history, c))}`);
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof ProjectError)) throw thrown;
  expect(thrown.code).toBe(code);
}

describe('CreateProject', () => {
  it('creates the project with a trimmed name, stamped with the time given', () => {
    expect(when([], create({ name: '  Web  ' }))).toEqual([
      { type: 'ProjectCreated', data: { projectId: P, accountId: 'acc-1', name: 'Web', createdAt: NOW.toISOString() } },
    ]);
  });

  it('again with the same account and name is a retry; with anything else an error', () => {
    expect(when([created], create())).toEqual([]);
    throwsCode([created], create({ name: 'Other' }), 'invalid_command');
    throwsCode([created], create({ accountId: 'acc-2' }), 'invalid_command');
  });

  it('refuses an empty, huge or control-character name, and a missing account', () => {
    for (const name of ['', '   ', 'x'.repeat(101), 'a\nb', 'a\u0000b', 'a\u007fb']) throwsCode([], create({ name }), 'invalid_command');
    throwsCode([], create({ accountId: '' }), 'invalid_command');
    expect(projectName('x'.repeat(100))).toHaveLength(100);
  });
});

describe('RenameProject', () => {
  it('renames; the same name appends nothing', () => {
    expect(when([created], rename(' Mobile '))).toEqual([{ type: 'ProjectRenamed', data: { projectId: P, name: 'Mobile' } }]);
    expect(when([created], rename('Web'))).toEqual([]);
    expect(evolveProjectAll([created, { type: 'ProjectRenamed', data: { projectId: P, name: 'Mobile' } }]).name).toBe('Mobile');
  });

  it('is refused for a project that does not exist, or is archived, or with a bad name', () => {
    throwsCode([], rename('x'), 'project_not_found');
    throwsCode([created, archived], rename('x'), 'project_archived');
    throwsCode([created], rename(''), 'invalid_command');
  });

  it('a rename back to an earlier name gets another event id (the version is part of it)', () => {
    expect(projectEventKey(rename('A'), 1n)).not.toBe(projectEventKey(rename('A'), 3n));
    expect(projectEventKey(create(), 0n)).toBe(projectEventKey(create(), 5n));
  });
});

describe('ArchiveProject', () => {
  it('archives once; again is a no-op; an unknown project is not found', () => {
    expect(when([created], archive)).toEqual([{ type: 'ProjectArchived', data: { projectId: P, archivedAt: NOW.toISOString() } }]);
    expect(when([created, archived], archive)).toEqual([]);
    expect(evolveProjectAll([created, archived]).archivedAt).toBe(archived.data.archivedAt);
    throwsCode([], archive, 'project_not_found');
  });
});

describe('decodeProjectEvent', () => {
  it('refuses an unknown type rather than skipping it', () => {
    expect(() => decodeProjectEvent('ProjectExploded', {})).toThrow(/unknown project event type/);
    expect(decodeProjectEvent('ProjectArchived', archived.data)).toEqual(archived);
  });
});
