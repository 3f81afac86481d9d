/**
 * Where the tests find the machine's real services. TEST_DATABASE_URL names the server and an
 * admin database; each test file gets its own fresh database on that server (see fresh-db.ts).
 */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
