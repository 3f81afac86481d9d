/**
 * The benchmark account's history: `rows` request-log rows spread evenly over the last `days` (90)
 * across its keys and six models, one INSERT … SELECT generate_series in Postgres (no row
 * crosses the wire), so migration 013's trigger keeps the usage rollups exactly as it would for
 * the proxy's own batches. Then ANALYZE, as autovacuum would do after such a load.
 */
import { Pool } from 'pg';

export const BENCH_MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'gemini-2.5-flash', 'grok-4'];

export async function fillRequestLog(pool: Pool, accountId: string, keyIds: string[], rows: number, now: Date, days = 90): Promise<void> {
  const client = await pool.connect();
  try {
    // Batches of 100,000 keep each statement's transition table (what the trigger sums) in memory.
    const batch = 100_000;
    for (let start = 1; start <= rows; start += batch) {
      const end = Math.min(rows, start + batch - 1);
      await client.query(
        `INSERT INTO request_log (request_id, account_id, key_id, started_at, endpoint, model, provider, stream, status, error_code,
                                  input_tokens, cached_tokens, output_tokens, held_micros, cost_micros, billing, latency_ms, ttfb_ms)
         SELECT 'bench-' || g, $1::uuid, ($2::uuid[])[1 + g % cardinality($2::uuid[])],
                $3::timestamptz - make_interval(secs => (g::double precision / $5) * $8::int * 86400),
                'openai.chat', ($4::text[])[1 + (g * 7) % cardinality($4::text[])], 'openai', g % 4 = 0,
                CASE WHEN g % 97 = 0 THEN 429 ELSE 200 END, CASE WHEN g % 97 = 0 THEN 'rate_limited' END,
                100 + g % 1900, (g % 3) * 50, 10 + g % 490, 5000, CASE WHEN g % 97 = 0 THEN 0 ELSE 200 + g % 4000 END,
                CASE WHEN g % 97 = 0 THEN 'none' ELSE 'settled' END, 200 + g % 800, 50 + g % 200
           FROM generate_series($6::int, $7::int) AS g`,
        [accountId, keyIds, now, BENCH_MODELS, rows, start, end, days],
      );
    }
    await client.query('ANALYZE request_log');
    await client.query('ANALYZE usage_by_model');
    await client.query('ANALYZE usage_by_key');
  } finally {
    client.release();
  }
}
