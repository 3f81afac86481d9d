import { Inject } from '@nestjs/common';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { cliActor } from '../../cli/cli-actor';
import { UsageError } from '../../cli/cli-errors';
import { parseOptions, printResult } from '../../cli/cli-options';
import { instant } from '../../ledger/cli/ledger-cli-options';
import { CLOCK, Clock } from '../../platform/clock';
import { KeyLimits } from '../domain/api-key.events';
import { KeysService } from '../application/keys.service';
import { MAX_PER_MINUTE, readModels, readPerMinute, readSpendCap, via } from '../application/key-limits-input';
import { keyIdOption, keyView, limitsText, warnUnconfirmed } from './keys-cli';

// `--no-x` gives false; `--x <v>` gives the string. false → null: the limit is removed.
const orCleared = <T>(parse: (v: string, ctx: z.RefinementCtx) => T) =>
  z.union([z.literal(false), z.string()]).transform((v, ctx): T | null => (v === false ? null : parse(v, ctx)));

const credits = orCleared(via(readSpendCap));

const perMinute = orCleared(
  via((value: string) => {
    const n = /^\d{1,10}$/.test(value.trim()) ? Number(value.trim()) : NaN;
    const r = readPerMinute(n);
    return 'value' in r ? r : { message: `must be a whole number from 1 to ${MAX_PER_MINUTE}, got ${JSON.stringify(value)}` };
  }),
);

const modelList = z.string().transform(
  via((value: string) => {
    const r = readModels(value.split(','));
    return 'value' in r ? r : { message: `must be model names separated by commas, got ${JSON.stringify(value)}` };
  }),
);

const options = z.object({
  key: keyIdOption,
  models: modelList.optional(),
  allModels: z.boolean().optional(),
  spendCap: credits.optional(),
  expires: instant.optional(),
  expiry: z.boolean().optional(), // commander: false with --no-expiry, else true
  rpm: perMinute.optional(),
  tpm: perMinute.optional(),
  json: z.boolean().optional(),
});

// A limit that has both `--x <v>` and `--no-x`: commander keeps only the last one given.
const CLEARABLE = { spendCap: 'spend-cap', rpm: 'rpm', tpm: 'tpm' } as const;
type Clearable = keyof typeof CLEARABLE;

/** The patch the options ask for; a usage error if they contradict each other or ask nothing. */
function patchOf(o: z.output<typeof options>, valued: ReadonlySet<Clearable>, cleared: ReadonlySet<Clearable>): Partial<KeyLimits> {
  for (const name of Object.keys(CLEARABLE) as Clearable[]) {
    if (valued.has(name) && (cleared.has(name) || o[name] === null)) {
      throw new UsageError(`give either --${CLEARABLE[name]} or --no-${CLEARABLE[name]}, not both`);
    }
  }
  if (o.models && o.allModels) throw new UsageError('give either --models or --all-models, not both');
  if (o.expires && o.expiry === false) throw new UsageError('give either --expires or --no-expiry, not both');
  const patch: Partial<KeyLimits> = {};
  if (o.models) patch.models = o.models;
  if (o.allModels) patch.models = null;
  if (o.spendCap !== undefined) patch.spendCapMicros = o.spendCap;
  if (o.expires) patch.expiresAt = o.expires.toISOString();
  if (o.expiry === false) patch.expiresAt = null;
  if (o.rpm !== undefined) patch.rpm = o.rpm;
  if (o.tpm !== undefined) patch.tpm = o.tpm;
  if (Object.keys(patch).length === 0) {
    throw new UsageError('nothing to change: give --models, --all-models, --spend-cap, --no-spend-cap, --expires, --no-expiry, --rpm or --tpm');
  }
  return patch;
}

/**
 * `tollgate keys limits --key ID [--models a,b|--all-models] [--spend-cap CREDITS|--no-spend-cap]
 * [--expires ISO|--no-expiry] [--rpm N|--no-rpm] [--tpm N|--no-tpm]`: limits not mentioned stay.
 */
@SubCommand({ name: 'limits', description: "change a key's model allowlist, spending cap, expiry and rate limits" })
export class ChangeKeyLimitsCommand extends CommandRunner {
  // What the command line said, in order, for the limits commander would silently overwrite.
  // Commander calls a value's parser but not a negation's; a negation given first shows as
  // the previous value `false` handed to the later value's parser, one given last as `false`.
  private readonly valued = new Set<Clearable>();
  private readonly cleared = new Set<Clearable>();

  constructor(
    private readonly keys: KeysService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    try {
      const parsed = parseOptions(options, raw);
      return await this.change(parsed, patchOf(parsed, this.valued, this.cleared));
    } finally {
      this.valued.clear();
      this.cleared.clear();
    }
  }

  private async change(parsed: z.output<typeof options>, limits: Partial<KeyLimits>): Promise<void> {
    const r = await this.keys.changeLimits({ keyId: parsed.key, limits, actor: cliActor() });
    const human = r.changed ? `limits of key ${parsed.key}: ${limitsText(r.key)}` : `limits of key ${parsed.key} already were: ${limitsText(r.key)}`;
    printResult(parsed.json, human, { ...keyView(r.key, this.clock.now()), changed: r.changed, ...r.broadcast });
    warnUnconfirmed(r.broadcast);
  }

  @Option({ flags: '--key <id>', description: 'the key id', required: true })
  parseKey(v: string): string {
    return v;
  }

  @Option({ flags: '--models <list>', description: 'allow only these models (comma-separated)' })
  parseModels(v: string): string {
    return v;
  }

  @Option({ flags: '--all-models', description: 'allow every model' })
  parseAllModels(): boolean {
    return true;
  }

  @Option({ flags: '--spend-cap <credits>', description: 'most the key may spend, in credits' })
  parseSpendCap(v: string, previous?: unknown): string {
    return this.given('spendCap', v, previous);
  }

  @Option({ flags: '--no-spend-cap', description: 'remove the spending cap' })
  parseNoSpendCap(): boolean {
    return false;
  }

  @Option({ flags: '--expires <instant>', description: 'when the key stops working (ISO 8601; a bare date means the end of that day, UTC)' })
  parseExpires(v: string): string {
    return v;
  }

  @Option({ flags: '--no-expiry', description: 'the key never expires' })
  parseNoExpiry(): boolean {
    return false;
  }

  @Option({ flags: '--rpm <n>', description: 'requests per minute' })
  parseRpm(v: string, previous?: unknown): string {
    return this.given('rpm', v, previous);
  }

  @Option({ flags: '--no-rpm', description: 'remove the requests-per-minute limit' })
  parseNoRpm(): boolean {
    return false;
  }

  @Option({ flags: '--tpm <n>', description: 'tokens per minute' })
  parseTpm(v: string, previous?: unknown): string {
    return this.given('tpm', v, previous);
  }

  @Option({ flags: '--no-tpm', description: 'remove the tokens-per-minute limit' })
  parseNoTpm(): boolean {
    return false;
  }

  @Option({ flags: '--json', description: 'print the key and its limits as JSON' })
  parseJson(): boolean {
    return true;
  }

  private given(name: Clearable, value: string, previous: unknown): string {
    this.valued.add(name);
    if (previous === false) this.cleared.add(name);
    return value;
  }
}
