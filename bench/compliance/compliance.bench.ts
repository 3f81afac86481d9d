/**
 * `npm run bench:compliance` (issue 21): the export of an account with 1,000,000 usage rows
 * (`export_seconds`, `export_peak_rss_mib`), the erasure of a person with 10,000 events
 * (`erase_seconds`), and the breach fan-out of 10,000 notices to smtp-server (`notices_per_s`).
 * The last line is one JSON object. Targets: export under 60 s in under 200 MiB, notices at
 * least 200/s. Each part runs alone (one after another), on a database of its own.
 */
import { benchErase } from './erase';
import { benchExport } from './export';
import { benchNotices } from './notices';

async function main(): Promise<void> {
  const exported = await benchExport();
  console.error(`export: ${JSON.stringify(exported)}`);
  const erased = await benchErase();
  console.error(`erase: ${JSON.stringify(erased)}`);
  const notices = await benchNotices();
  console.error(`notices: ${JSON.stringify(notices)}`);
  const result = {
    ...exported,
    ...erased,
    ...notices,
    targets: { export_seconds: 60, export_peak_rss_mib: 200, notices_per_s: 200 },
    target_met: exported.export_seconds < 60 && exported.export_peak_rss_mib < 200 && notices.notices_per_s >= 200,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
