import { ConfigError, loadConfig } from '../../src/config/config';

const failure = (env: NodeJS.ProcessEnv): ConfigError => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('has defaults that work on a fresh machine', () => {
    expect(loadConfig({})).toEqual({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/tollgate',
      DATABASE_POOL_SIZE: 10,
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
      MIGRATE_ON_START: true,
      HOLD_TTL_SECONDS: 600,
      PROJECTION_POLL_MS: 100,
    });
  });

  it('reads and coerces values, and treats an empty value as unset', () => {
    const c = loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', EVENTSTORE_URL: 'esdb://127.0.0.1:2113?tls=false', HOST: '' });
    expect(c.PORT).toBe(8080);
    expect(c.MIGRATE_ON_START).toBe(false);
    expect(c.EVENTSTORE_URL).toBe('esdb://127.0.0.1:2113?tls=false');
    expect(c.HOST).toBe('0.0.0.0');
  });

  it.each([
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://127.0.0.1/tollgate'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_POOL_SIZE', '0'],
    ['LOG_LEVEL', 'loud'],
    ['MIGRATE_ON_START', 'yes'],
    ['EVENTSTORE_URL', 'http://127.0.0.1:2113'],
  ])('a bad %s (%j) is one line naming the variable', (name, value) => {
    const err = failure({ [name]: value });
    expect(err.message).toContain(`${name}:`);
    expect(err.message).not.toContain('\n');
  });

  it('names every bad variable at once', () => {
    const err = failure({ PORT: 'x', REDIS_URL: 'y' });
    expect(err.message).toMatch(/PORT:.*REDIS_URL:|REDIS_URL:.*PORT:/);
  });
});
