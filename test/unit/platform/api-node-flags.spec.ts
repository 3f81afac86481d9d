/**
 * The API process's node flags (its young generation and how far its old generation may grow
 * before a full collection, which set its RSS under load; README "The proxy") are one choice,
 * written in four places: `npm start`, the Dockerfile, docker-compose's `api`, and the proxy
 * benchmark, which must measure what is shipped.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRODUCTION_NODE_FLAGS } from '../../../bench/proxy/bench-servers';

const ROOT = join(__dirname, '..', '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
/** The `--…` flags of a command that runs dist/src/main.js, in order. */
const flagsOf = (words: string[]) => words.slice(0, words.indexOf('dist/src/main.js')).filter((w) => w.startsWith('--'));
const jsonArray = (line: string | undefined) => JSON.parse(/\[.*\]/.exec(line ?? '')?.[0] ?? '[]') as string[];

describe('the API node flags', () => {
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start.split(/\s+/);
  const dockerfile = jsonArray(read('Dockerfile').split('\n').find((l) => l.startsWith('CMD ') && l.includes('dist/src/main.js')));
  const compose = jsonArray(read('docker-compose.yml').split('\n').find((l) => /^\s+command:.*dist\/src\/main\.js/.test(l)));

  it('bound the old generation (a heap growing factor) beside the young generation', () => {
    expect(flagsOf(start)).toEqual(expect.arrayContaining(['--max-semi-space-size=16', '--heap-growing-percent=20']));
  });

  it('are the same in npm start, the Dockerfile, docker-compose and the proxy benchmark', () => {
    expect(flagsOf(dockerfile)).toEqual(flagsOf(start));
    expect(flagsOf(compose)).toEqual(flagsOf(start));
    expect(PRODUCTION_NODE_FLAGS).toEqual(flagsOf(start));
  });
});
