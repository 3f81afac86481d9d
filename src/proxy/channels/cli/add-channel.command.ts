import { randomBytes } from 'node:crypto';
import { CommandRunner, Option, SubCommand } from 'nest-commander';
import { z } from 'zod';
import { parseOptions, printResult } from '../../../cli/cli-options';
import { CHANNEL_NAME, CHANNEL_PROVIDERS, ENV_CHANNEL_PREFIX, MODEL_ID, normalizeBaseUrl } from '../channel';
import { ChannelChangeNotifier } from '../channel-change-notifier';
import { ChannelRepository } from '../channel.repository';
import { announce, channelJson, describeChannel, maxConnections, onOff, priority, readStdin, weight } from './channel-cli';

const apiKey = z
  .string()
  .transform((v) => v.trim())
  .pipe(
    z
      .string()
      .min(1, { error: 'must not be empty', abort: true })
      .max(4096, { error: 'is too long', abort: true })
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII with no spaces'),
  );

const options = z.object({
  provider: z.enum(CHANNEL_PROVIDERS, { error: `must be one of ${CHANNEL_PROVIDERS.join(', ')}` }),
  baseUrl: z.string().transform((v, ctx) => {
    const r = normalizeBaseUrl(v);
    if ('url' in r) return r.url;
    ctx.addIssue({ code: 'custom', message: r.error });
    return z.NEVER;
  }),
  // '-' is resolved from stdin after the other options pass, so bad flags fail without waiting for input.
  apiKey: z.string().transform((v, ctx) => {
    if (v === '-') return v;
    const checked = apiKey.safeParse(v);
    if (checked.success) return checked.data;
    checked.error.issues.forEach((i) => ctx.addIssue({ code: 'custom', message: i.message }));
    return z.NEVER;
  }),
  name: z
    .string()
    .trim()
    .regex(CHANNEL_NAME, 'must be 1-64 of A-Z a-z 0-9 . _ - , starting with a letter or digit')
    .refine((n) => !n.toLowerCase().startsWith(ENV_CHANNEL_PREFIX), `must not start with ${ENV_CHANNEL_PREFIX} (kept for channels seeded from the environment)`)
    .optional(),
  models: z
    .string()
    .transform((v) => [...new Set(v.split(',').map((m) => m.trim()).filter(Boolean))])
    .pipe(
      z
        .array(z.string().regex(MODEL_ID, 'each model must be 1-128 of A-Z a-z 0-9 . _ : / @ + -'))
        .min(1, 'must list at least one model (leave it out for every model of the provider)')
        .max(1000, 'lists too many models'),
    )
    .optional(),
  priority: priority.optional(),
  weight: weight.optional(),
  maxConnections: maxConnections.optional(),
  http2: onOff.optional(),
  json: z.boolean().optional(),
});

/**
 * `tollgate channels add --provider P --base-url URL --api-key KEY|-`: a new upstream channel,
 * its key stored encrypted. Running instances start using it at once (Redis notice).
 */
@SubCommand({ name: 'add', description: 'add an upstream channel (the key is stored encrypted)' })
export class AddChannelCommand extends CommandRunner {
  constructor(
    private readonly channels: ChannelRepository,
    private readonly notifier: ChannelChangeNotifier,
  ) {
    super();
  }

  async run(_args: string[], raw: Record<string, unknown>): Promise<void> {
    const opts = parseOptions(options, raw);
    const key = opts.apiKey === '-' ? parseOptions(z.object({ apiKey }), { apiKey: await readStdin() }).apiKey : opts.apiKey;
    const name = opts.name ?? `${opts.provider}-${randomBytes(3).toString('hex')}`;
    const channel = await this.channels.add({
      name,
      provider: opts.provider,
      baseUrl: opts.baseUrl,
      apiKey: key,
      models: opts.models,
      priority: opts.priority,
      weight: opts.weight,
      maxConnections: opts.maxConnections,
      http2: opts.http2,
    });
    await announce(this.notifier);
    printResult(opts.json, `added channel ${describeChannel(channel)}`, channelJson(channel));
  }

  @Option({ flags: '--provider <provider>', description: CHANNEL_PROVIDERS.join(' | '), required: true })
  parseProvider(v: string): string {
    return v;
  }

  @Option({ flags: '--base-url <url>', description: "the API's base URL as its SDK takes it, e.g. https://api.openai.com/v1", required: true })
  parseBaseUrl(v: string): string {
    return v;
  }

  @Option({ flags: '--api-key <key>', description: "the upstream key, or - to read it from stdin (keeps it out of shell history)", required: true })
  parseApiKey(v: string): string {
    return v;
  }

  @Option({ flags: '--name <name>', description: 'a unique name (default: <provider>-<random>)' })
  parseName(v: string): string {
    return v;
  }

  @Option({ flags: '--models <a,b>', description: "models it serves (default: every model of the provider in the price table)" })
  parseModels(v: string): string {
    return v;
  }

  @Option({ flags: '--priority <n>', description: 'higher is tried first (default 0)' })
  parsePriority(v: string): string {
    return v;
  }

  @Option({ flags: '--weight <n>', description: 'share of traffic among channels of equal priority (default 1)' })
  parseWeight(v: string): string {
    return v;
  }

  @Option({ flags: '--max-connections <n|default>', description: 'requests in flight at once per instance, 0 for no limit (default: UPSTREAM_MAX_CONNECTIONS)' })
  parseMaxConnections(v: string): string {
    return v;
  }

  @Option({ flags: '--http2 <on|off>', description: 'offer HTTP/2 to an https upstream (default off)' })
  parseHttp2(v: string): string {
    return v;
  }

  @Option({ flags: '--json', description: 'print the channel as JSON (never the key)' })
  parseJson(): boolean {
    return true;
  }
}
