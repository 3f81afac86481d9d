/** Runs the built `tollgate` command as a child process, as an operator would. */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, EVENTSTORE_URL: undefined, LOG_LEVEL: 'info', ...env };
    execFile(cmd, args, { cwd: ROOT, env: childEnv, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Compiles dist/ (incrementally). Called once per jest run, from the global set-up, before any
 * test file starts: tsc rewrites files in place, so a build running beside a test that is
 * loading dist/ lets that test read half-written modules (seen in CI as Nest's "circular
 * dependency" error, which is what an import that is still undefined looks like).
 */
export async function buildCli(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', join(ROOT, 'dist', '.tsbuildinfo')]);
  if (build.code !== 0) throw new Error(`the build failed:\n${build.stdout}${build.stderr}`);
}

export function expectOneErrorLine(r: Run, pattern?: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  if (pattern) expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

/**
 * Starts a built entry point (`main` the API, `worker` the jobs) as a child process, the way an
 * operator runs it. With `output`, everything it prints is appended there; else it is dropped.
 */
export function spawnBuilt(entry: 'main' | 'worker', env: NodeJS.ProcessEnv, output?: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', `${entry}.js`)], { env, stdio: output ? ['ignore', 'pipe', 'pipe'] : 'ignore' });
  if (output) {
    child.stdout!.on('data', (c) => output.push(String(c)));
    child.stderr!.on('data', (c) => output.push(String(c)));
  }
  return child;
}
