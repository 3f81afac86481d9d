/**
 * Chooses the channels a request may go to, in the order to try them: highest priority first,
 * a weighted random order among equal priorities, channels with an open circuit left out.
 * `route()` runs the fallback loop itself (try, record, log the switch, try the next).
 *
 * Which models a channel with an empty model list serves is the price table's business: the
 * caller may pass a predicate (servesModelFrom(modelsOf)), so routing does not depend on how
 * prices are kept.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { Channel, ChannelProvider } from './channel';
import { ChannelDirectory } from './channel-directory';
import { CircuitBreakers, CircuitState, CircuitTransition, Outcome } from './circuit-breaker';

/** A source of uniform randoms in [0, 1); injectable so tests can seed it. */
export type RandomSource = () => number;
export const CHANNEL_RANDOM = Symbol('CHANNEL_RANDOM');

export type ProviderFilter = readonly ChannelProvider[] | ((provider: ChannelProvider) => boolean);
/** Whether a channel serves a model. */
export type ServesModel = (channel: Channel, model: string) => boolean;
/** The models the price table lists for a provider. */
export type ModelsOf = (provider: ChannelProvider) => ReadonlySet<string> | readonly string[];

export interface ChannelSource {
  /**
   * The channels now. The same array until the list changes, then another (never changed in
   * place, nor are its channels): the router keeps what it worked out of one array until it sees another.
   */
  list(): readonly Channel[];
  get(id: string): Channel | undefined;
  /** Loads the list again, if the source can (before a refusal for want of a channel). */
  refresh?(): Promise<void>;
}

/**
 * What one try on a channel came to. `ok: false` only for a failure before the first byte (429,
 * 5xx, connect error, timeout), or with `busy` when nothing was sent because the channel had no
 * room: the next channel is tried, and the circuit is not told (a full channel is not a failing one).
 */
export type Attempt<T> = { ok: true; value: T } | { ok: false; reason: string; value?: T; busy?: boolean };

export interface Routed<T> {
  /** The last attempt's value: the success, or the last failure's (for the caller's 502/504). */
  value?: T;
  channel?: Channel;
  ok: boolean;
  failures: { channel: Channel; reason: string }[];
}

/**
 * The exact rule: a channel serves the models it lists, or, with an empty list, every model
 * the price table lists for its provider.
 */
export function servesModelFrom(modelsOf: ModelsOf): ServesModel {
  return (channel, model) => {
    if (channel.models.length > 0) return channel.models.includes(model);
    const listed = modelsOf(channel.provider);
    return 'has' in listed ? listed.has(model) : listed.includes(model);
  };
}

/**
 * The default when the caller has already found the model's provider in the price table and
 * passes only that provider (plus openai-compatible) as the filter: a channel with an empty
 * list serves any model asked of its provider. An openai-compatible channel has no price-table
 * models of its own, so it serves only what it lists.
 */
export const servesListedOrAny: ServesModel = (channel, model) =>
  channel.models.length > 0 ? channel.models.includes(model) : channel.provider !== 'openai-compatible';

/**
 * Channels that serve the model, by priority (highest first) and, within a priority, in a
 * weighted random order: each place goes to one of the channels left with probability
 * weight / (sum of their weights).
 */
export function rankChannels(
  channels: readonly Channel[],
  model: string,
  providers: ProviderFilter,
  servesModel: ServesModel,
  random: RandomSource,
): Channel[] {
  return rankServing(servingChannels(channels, model, providers, servesModel), random);
}

/** The channels that serve the model, by priority (highest first), in the list's order within a priority. */
export function servingChannels(channels: readonly Channel[], model: string, providers: ProviderFilter, servesModel: ServesModel): Channel[] {
  const allowed = typeof providers === 'function' ? providers : (p: ChannelProvider) => providers.includes(p);
  const matching = channels.filter((c) => allowed(c.provider) && servesModel(c, model));
  return matching.sort((a, b) => b.priority - a.priority);
}

/** servingChannels' list (by priority) in the order to try: a weighted random order within each priority. */
export function rankServing(serving: readonly Channel[], random: RandomSource): Channel[] {
  if (serving.length <= 1) return serving.slice();
  const ranked: Channel[] = [];
  for (let start = 0; start < serving.length; ) {
    let end = start + 1;
    while (end < serving.length && serving[end].priority === serving[start].priority) end++;
    ranked.push(...weightedOrder(serving.slice(start, end), random));
    start = end;
  }
  return ranked;
}

function weightedOrder(group: Channel[], random: RandomSource): Channel[] {
  if (group.length === 1) return group;
  const left = [...group];
  let total = left.reduce((sum, c) => sum + c.weight, 0);
  const out: Channel[] = [];
  while (left.length > 1) {
    let pick = random() * total;
    let i = 0;
    while (i < left.length - 1 && pick >= left[i].weight) pick -= left[i++].weight;
    total -= left[i].weight;
    out.push(...left.splice(i, 1));
  }
  out.push(left[0]);
  return out;
}

/** Model and provider lists whose serving channels are kept per channel list (a bound: models come from clients). */
const MAX_CACHED_SERVING = 4096;

@Injectable()
export class ChannelRouter {
  private readonly log = new Logger('ChannelRouter');
  private readonly breakers: CircuitBreakers;
  private readonly random: RandomSource;
  /**
   * servingChannels() of the source's current list, per providers and model: a request asked for
   * it three times (the check before the hold, its candidates, the fallback loop), each a filter
   * and a sort. Dropped whole when the source hands out another list (ChannelSource.list).
   */
  private serving: { list: readonly Channel[]; byKey: Map<string, readonly Channel[]> } = { list: [], byKey: new Map() };

  constructor(
    @Inject(ChannelDirectory) private readonly source: ChannelSource,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'CIRCUIT_FAILURES' | 'CIRCUIT_WINDOW' | 'CIRCUIT_COOLDOWN_MS'>,
    @Inject(CLOCK) clock: Clock,
    @Optional() @Inject(CHANNEL_RANDOM) random?: RandomSource,
  ) {
    this.random = random ?? Math.random;
    this.breakers = new CircuitBreakers(
      { failures: config.CIRCUIT_FAILURES, window: config.CIRCUIT_WINDOW, cooldownMs: config.CIRCUIT_COOLDOWN_MS },
      clock,
      (t) => this.logTransition(t),
    );
  }

  /**
   * The channels that could be tried for `model` now, in order (open circuits left out). Takes
   * no half-open channel's probe: route() takes it when the request really goes there.
   */
  candidates(model: string, providers: ProviderFilter, servesModel: ServesModel = servesListedOrAny): Channel[] {
    return rankServing(this.servingOf(model, providers, servesModel), this.random).filter((c) => this.breakers.waitMs(c.id) === 0);
  }

  /**
   * Before anything is reserved: whether any channel serves the model (`configured`), and when
   * one may be tried (`waitMs`, 0 = now; else until the first circuit's cooldown or probe ends).
   */
  availability(model: string, providers: ProviderFilter, servesModel: ServesModel = servesListedOrAny): { configured: boolean; waitMs: number } {
    const serving = this.servingOf(model, providers, servesModel);
    if (serving.length === 0) return { configured: false, waitMs: 0 };
    let waitMs = Infinity;
    for (const c of serving) waitMs = Math.min(waitMs, this.breakers.waitMs(c.id));
    return { configured: true, waitMs };
  }

  /** availability(), after reloading the channels first when none serves the model. */
  async availabilityFresh(model: string, providers: ProviderFilter, servesModel: ServesModel = servesListedOrAny): Promise<{ configured: boolean; waitMs: number }> {
    const seen = this.availability(model, providers, servesModel);
    if (seen.configured || !this.source.refresh) return seen;
    await this.source.refresh();
    return this.availability(model, providers, servesModel);
  }

  /** The outcome of a request on a channel; `reason` (metadata, e.g. `status 503`, `timeout`) goes in the logs. */
  record(channelId: string, outcome: Outcome, context: { model?: string; reason?: string } = {}): void {
    const reason = context.reason ?? (outcome === 'ok' ? 'success' : 'failure');
    this.breakers.record(channelId, outcome, context.model ? `${reason}, model ${context.model}` : reason);
  }

  circuitState(channelId: string): CircuitState {
    return this.breakers.state(channelId);
  }

  /**
   * Tries the candidates in order until one succeeds, recording every outcome and logging
   * every switch. `attempt` must return `ok: false` only while nothing has reached the
   * client; anything it throws ends routing at once, recorded as nothing.
   */
  async route<T>(
    model: string,
    providers: ProviderFilter,
    attempt: (channel: Channel) => Promise<Attempt<T>>,
    servesModel: ServesModel = servesListedOrAny,
    /** Names the request in the log lines (an id, never content). */
    requestId?: string,
  ): Promise<Routed<T>> {
    const on = requestId ? `request ${requestId}: ` : '';
    const ranked = rankServing(this.servingOf(model, providers, servesModel), this.random);
    const channels: Channel[] = []; // those tried
    const failures: Routed<T>['failures'] = [];
    let last: Attempt<T> | undefined;
    // A half-open channel's probe is taken only here, as the request is sent to it; a channel
    // passed over because an earlier one answered leaves its probe for the next request.
    const nextAdmitted = (from: number): number => {
      let i = from;
      while (i < ranked.length && !this.breakers.admit(ranked[i].id)) i++;
      return i;
    };
    for (let i = nextAdmitted(0); i < ranked.length; ) {
      const channel = ranked[i];
      channels.push(channel);
      last = await attempt(channel);
      if (last.ok) {
        this.record(channel.id, 'ok', { model });
        return { ok: true, value: last.value, channel, failures };
      }
      if (!last.busy) this.record(channel.id, 'failure', { model, reason: last.reason });
      failures.push({ channel, reason: last.reason });
      i = nextAdmitted(i + 1);
      const next = ranked[i];
      if (next) {
        this.log.warn(`${on}falling back from channel ${label(channel)} to ${label(next)} for model ${model}: ${last.reason}`);
      } else {
        this.log.warn(`${on}no channel left for model ${model} after ${failures.length} failure(s); last: ${label(channel)}: ${last.reason}`);
      }
    }
    if (channels.length === 0) this.log.warn(`${on}no channel available for model ${model} (none serves it, or every circuit is open)`);
    return { ok: false, value: last?.value, channel: channels[channels.length - 1], failures };
  }

  /** servingChannels() for the source's current list, computed once per list, providers and model (the default rule only). */
  private servingOf(model: string, providers: ProviderFilter, servesModel: ServesModel): readonly Channel[] {
    const list = this.source.list();
    if (typeof providers === 'function' || servesModel !== servesListedOrAny) return servingChannels(list, model, providers, servesModel);
    if (this.serving.list !== list) this.serving = { list, byKey: new Map() };
    const key = `${providers.join(',')}\n${model}`;
    let found = this.serving.byKey.get(key);
    if (found === undefined) {
      if (this.serving.byKey.size >= MAX_CACHED_SERVING) this.serving.byKey.clear();
      found = servingChannels(list, model, providers, servesModel);
      this.serving.byKey.set(key, found);
    }
    return found;
  }

  private logTransition(t: CircuitTransition): void {
    const channel = this.source.get(t.channelId);
    const name = channel ? `${channel.name} (${t.channelId})` : t.channelId;
    // warn even for closing: operators want to see a channel come back, and log is debug here.
    this.log.warn(`circuit of channel ${name}: ${t.from} -> ${t.to}: ${t.reason}`);
  }
}

function label(c: Channel): string {
  return `${c.name} (${c.id})`;
}
