/**
 * Seeds the channels named by the environment (OPENAI_API_KEY and the like) when the API
 * starts, as `env-openai`, `env-anthropic`, `env-gemini`, `env-xai`. Runs in onModuleInit, so
 * the channel directory (onApplicationBootstrap) loads what it wrote. Only the API adds it
 * (CHANNEL_SEEDER_PROVIDERS): the CLI and the worker must not rewrite channels as they start.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Provider } from '@nestjs/common';
import { RetriedStartup } from '../../platform/startup/retried-startup';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { ChannelProvider, ENV_CHANNEL_PREFIX, normalizeBaseUrl } from './channel';
import { ChannelChangeNotifier } from './channel-change-notifier';
import { ChannelRepository, EnvChannel } from './channel.repository';

type EnvConfig = Pick<
  AppConfig,
  | 'OPENAI_API_KEY'
  | 'OPENAI_BASE_URL'
  | 'ANTHROPIC_API_KEY'
  | 'ANTHROPIC_BASE_URL'
  | 'GEMINI_API_KEY'
  | 'GEMINI_BASE_URL'
  | 'XAI_API_KEY'
  | 'XAI_BASE_URL'
>;

/** The env channels the config asks for, and the variables of those it does not. */
export function envChannels(config: EnvConfig): { wanted: EnvChannel[]; unset: { name: string; variable: string }[] } {
  const sources: [ChannelProvider, string, string | undefined, string][] = [
    ['openai', 'OPENAI_API_KEY', config.OPENAI_API_KEY, config.OPENAI_BASE_URL],
    ['anthropic', 'ANTHROPIC_API_KEY', config.ANTHROPIC_API_KEY, config.ANTHROPIC_BASE_URL],
    ['gemini', 'GEMINI_API_KEY', config.GEMINI_API_KEY, config.GEMINI_BASE_URL],
    ['xai', 'XAI_API_KEY', config.XAI_API_KEY, config.XAI_BASE_URL],
  ];
  const wanted: EnvChannel[] = [];
  const unset: { name: string; variable: string }[] = [];
  for (const [provider, variable, apiKey, baseUrl] of sources) {
    const name = `${ENV_CHANNEL_PREFIX}${provider}`;
    if (!apiKey?.trim()) {
      unset.push({ name, variable });
      continue;
    }
    const normalized = normalizeBaseUrl(baseUrl);
    // config.ts accepts only http(s) URLs; a query or credentials in one is refused here.
    if ('error' in normalized) throw new Error(`${variable.replace('_API_KEY', '_BASE_URL')} ${normalized.error}`);
    wanted.push({ name, provider, baseUrl: normalized.url, apiKey: apiKey.trim() });
  }
  return { wanted, unset };
}

@Injectable()
export class ChannelSeeder implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('ChannelSeeder');

  constructor(
    @Inject(APP_CONFIG) private readonly config: EnvConfig,
    private readonly repository: ChannelRepository,
    private readonly notifier: ChannelChangeNotifier,
  ) {}

  private readonly startup = new RetriedStartup(this.log, 'seeding channels from the environment', () => this.seed());

  async onModuleInit(): Promise<void> {
    await this.startup.start();
  }

  onModuleDestroy(): void {
    this.startup.stop();
  }

  /** Returns what happened to each env channel; tells other instances when anything changed. */
  async seed(): Promise<Record<string, 'created' | 'updated' | 'unchanged'>> {
    const { wanted, unset } = envChannels(this.config);
    const outcomes: Record<string, 'created' | 'updated' | 'unchanged'> = {};
    for (const spec of wanted) {
      outcomes[spec.name] = await this.repository.seedFromEnv(spec);
      const line = `channel ${spec.name} ${outcomes[spec.name]} from the environment (${spec.provider}, ${spec.baseUrl})`;
      if (outcomes[spec.name] === 'created') this.log.log(line);
      else if (outcomes[spec.name] === 'updated') this.log.warn(line); // a new key or URL: worth seeing
    }
    // Left as they are (another instance may still have the variable): said, so it is no surprise.
    for (const { name, variable } of unset) {
      const stale = await this.repository.find(name);
      if (stale?.enabled) {
        this.log.warn(`channel ${name} stays enabled although ${variable} is not set; \`tollgate channels disable --channel ${name}\` stops it`);
      }
    }
    if (Object.values(outcomes).some((o) => o !== 'unchanged') && !(await this.notifier.publish())) {
      this.log.warn('could not tell other instances about the seeded channels (Redis unreachable); they reload within 30 s');
    }
    return outcomes;
  }
}

/** Added by the API module only. */
export const CHANNEL_SEEDER_PROVIDERS: Provider[] = [ChannelSeeder];
