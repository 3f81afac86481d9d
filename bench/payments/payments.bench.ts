/**
 * `npm run bench:payments`: Stripe webhook deliveries verified and recorded per second (a mix of
 * new and duplicate events over 10,000 payments; no payment may be credited twice), then the
 * chain scanner's Transfer logs per second over at least 10,000 logs on anvil. The last line is
 * one JSON object: at least `webhooks_per_s`, `duplicate_credits` (must be 0), `scan_logs_per_s`.
 * Target: 1,000 webhooks/s with 0 duplicates.
 */
import { benchScan } from './scan';
import { benchWebhooks } from './webhooks';

async function main(): Promise<void> {
  const webhooks = await benchWebhooks();
  console.error(`webhooks: ${JSON.stringify(webhooks)}`);
  const scan = await benchScan();
  console.error(`scan: ${JSON.stringify(scan)}`);
  const result = {
    ...webhooks,
    ...scan,
    webhooks_target_per_s: 1_000,
    target_met: webhooks.webhooks_per_s >= 1_000 && webhooks.duplicate_credits === 0,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
