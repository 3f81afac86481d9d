import { performance } from 'node:perf_hooks';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../cli/cli-options';
import { progressBar } from '../../cli/progress';
import { ReadModelHaltedError, ReadModels } from '../application/read-models';
import { ReadModelRebuilders, RebuiltReadModel } from '../../platform/read-models/read-model-rebuilders';

const options = z.object({ json: z.boolean().optional() });

/**
 * `tollgate ledger replay`: rebuilds every read model from the first event, beside the live
 * ones (which keep serving), and swaps them in when done; then the read models other contexts
 * keep outside the runner (api_keys), each rewritten row by row by its own rebuilder. A model
 * that cannot apply some event is swapped in halted at it (the others in full), and the
 * command exits 1 naming it.
 */
@SubCommand({ name: 'replay', description: 'rebuild every read model from the event log (safe while running)' })
export class LedgerReplayCommand extends CommandRunner {
  constructor(
    private readonly readModels: ReadModels,
    private readonly rebuilders: ReadModelRebuilders,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const { json } = parseOptions(options, raw);
    const bar = progressBar('replay', await this.readModels.ledgerEventCount());
    const t0 = performance.now();
    let result;
    try {
      result = await this.readModels.rebuild((p) => bar.update(p.events));
    } finally {
      bar.stop();
    }
    // The rate is the event log's: the rebuilders after it read their own streams.
    const seconds = (performance.now() - t0) / 1000;
    const others: Array<{ name: string } & RebuiltReadModel> = [];
    for (const r of this.rebuilders.all()) {
      const rows = progressBar(r.name, 0);
      try {
        others.push({ name: r.name, ...(await r.rebuild((done) => rows.update(done))) });
      } finally {
        rows.stop();
      }
    }
    const rate = Math.round(result.events / Math.max(seconds, 0.001));
    const halted = result.halted ?? [];
    printResult(json, `replayed ${result.events} events in ${seconds.toFixed(2)} s (${rate} events/s)`, {
      events: result.events,
      seconds: Number(seconds.toFixed(3)),
      eventsPerSecond: rate,
      halted: halted.map((h) => ({ name: h.name, eventId: h.eventId, error: h.error })),
      rebuilt: others,
    });
    if (!json) for (const o of others) process.stdout.write(`${o.name}: ${o.rows} rows written from their streams, ${o.repaired} repaired\n`);
    // The others were rebuilt in full; a model that cannot apply an event is not, and says so.
    if (halted.length > 0) throw new ReadModelHaltedError(halted);
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
