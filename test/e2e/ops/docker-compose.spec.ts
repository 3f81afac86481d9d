/**
 * docker-compose.yml and the Dockerfile (issue 22): `docker compose config` accepts the file
 * where `docker compose` exists, else the standalone `docker-compose` (Debian's v1) validates it
 * (where neither exists that test skips, saying so),
 * and the image builds everything `npm run build` makes (the API and the dashboard) and ships it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

const FILE = join(ROOT, 'docker-compose.yml');

/** Which Compose checks the file here: the docker CLI's plugin, else the standalone docker-compose (v1, Debian's package), else none. */
function composeHere(): { kind: 'plugin' | 'standalone' } | { skip: string } {
  const plugin = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 20_000 });
  if (!plugin.error && plugin.status === 0) return { kind: 'plugin' };
  const standalone = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 20_000 });
  if (!standalone.error && standalone.status === 0) return { kind: 'standalone' };
  const why = plugin.error ? `no docker here (${plugin.error.message})` : `docker has no compose plugin (${(plugin.stderr || plugin.stdout).trim().split('\n')[0]})`;
  return { skip: `${why}, and no docker-compose either` };
}

const compose = composeHere();

if ('skip' in compose) {
  console.warn(`SKIPPED docker compose config: ${compose.skip}`);
  it.skip(`docker compose config — SKIPPED: ${compose.skip}`, () => undefined);
} else if (compose.kind === 'plugin') {
  it('docker compose config accepts docker-compose.yml, with the worker metrics port and the api built from the Dockerfile', () => {
    const out = execFileSync('docker', ['compose', '-f', FILE, 'config', '--format', 'json'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
    const config = JSON.parse(out) as { services: Record<string, { build?: unknown; environment?: Record<string, string> }> };
    expect(Object.keys(config.services).sort()).toEqual(['api', 'eventstoredb', 'postgres', 'redis', 'worker']);
    expect(config.services.api.build).toBeDefined();
    expect(config.services.worker.environment?.METRICS_PORT).toBe('9464');
  });
} else {
  it('docker-compose (standalone) validates docker-compose.yml: its services, the worker metrics port, the api built from the Dockerfile', () => {
    // `config -q` validates the file against Compose's schema and exits 1 naming what is wrong.
    const check = spawnSync('docker-compose', ['-f', FILE, 'config', '-q'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
    const services = execFileSync('docker-compose', ['-f', FILE, 'config', '--services'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
    expect(services.trim().split('\n').sort()).toEqual(['api', 'eventstoredb', 'postgres', 'redis', 'worker']);
    // The normalised file (YAML): the worker's block holds its metrics port, the api's a build.
    const out = execFileSync('docker-compose', ['-f', FILE, 'config'], { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
    const block = (name: string) => out.split(/^ {2}(?=\S)/m).find((b) => b.startsWith(`${name}:`)) ?? '';
    expect(block('worker')).toMatch(/^\s+METRICS_PORT: '9464'$/m);
    expect(block('api')).toMatch(/^\s+build:$/m);
  });
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);

  it('runs npm run build in its build stage and copies all it produced (dist, the dashboard in dist/web) into the image', () => {
    const build = stages.find((s) => /AS build/.test(s.split('\n')[0]));
    expect(build).toMatch(/^RUN npm run build\b/m);
    const final = stages[stages.length - 1];
    expect(final).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(final).toMatch(/^CMD \["node", .*"dist\/src\/main\.js"\]$/m);
  });
});
