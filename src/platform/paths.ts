import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: string | undefined;

/** The checkout's root (where package.json is), whether running from src/ via jest or from dist/. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'migrations'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the Tollgate root above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}
