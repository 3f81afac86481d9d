/**
 * Circuit breakers, one per channel, per instance (each instance judges the upstreams it
 * sees; sharing state through Redis would put a round trip on every request).
 *
 *   closed     every request may use the channel; the last `window` outcomes are kept, and
 *              `failures` failures among them open the circuit.
 *   open       the channel is left out for `cooldownMs`.
 *   half-open  then ONE request (the probe) may use it: success closes the circuit with a
 *              clean slate, failure opens it for another cooldown. If the probe's caller never
 *              reports (it succeeded on another channel first, or died), the probe lapses
 *              after `cooldownMs` and the next caller gets it.
 */
import { Clock } from '../../platform/clock';

export type CircuitState = 'closed' | 'open' | 'half-open';
export type Outcome = 'ok' | 'failure';

export interface CircuitOptions {
  failures: number;
  window: number;
  cooldownMs: number;
}

export interface CircuitTransition {
  channelId: string;
  from: CircuitState;
  to: CircuitState;
  reason: string;
}

interface Circuit {
  state: CircuitState;
  outcomes: boolean[]; // ring of the last `window` outcomes, true = failure
  next: number;
  failuresInWindow: number;
  openedAt: number;
  probeUntil: number; // half-open: the probe handed out is another caller's until then
}

export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly options: CircuitOptions,
    private readonly clock: Clock,
    private readonly onTransition: (t: CircuitTransition) => void = () => undefined,
  ) {}

  state(channelId: string): CircuitState {
    return this.circuits.get(channelId)?.state ?? 'closed';
  }

  /**
   * How long until the channel may be tried: 0 when it may be now (closed, or its probe is
   * free to take). Takes nothing, so it can be asked before deciding to send at all.
   */
  waitMs(channelId: string): number {
    const c = this.circuits.get(channelId);
    if (!c || c.state === 'closed') return 0;
    const now = this.clock.now().getTime();
    const until = c.state === 'open' ? c.openedAt + this.options.cooldownMs : c.probeUntil;
    return Math.max(0, until - now);
  }

  /**
   * Whether the channel may be tried now. For a channel whose probe is due this hands the
   * probe to the caller, so call it only just before the request really goes to the channel.
   */
  admit(channelId: string): boolean {
    const c = this.circuits.get(channelId);
    if (!c || c.state === 'closed') return true;
    const now = this.clock.now().getTime();
    if (c.state === 'open') {
      if (now < c.openedAt + this.options.cooldownMs) return false;
      c.state = 'half-open';
      c.probeUntil = now + this.options.cooldownMs;
      this.onTransition({ channelId, from: 'open', to: 'half-open', reason: `cooldown of ${this.options.cooldownMs} ms over; letting one probe request through` });
      return true;
    }
    if (now < c.probeUntil) return false;
    c.probeUntil = now + this.options.cooldownMs; // the last probe never reported back
    return true;
  }

  /** The outcome of one request on the channel (failure: 429, 5xx, connect error or timeout before the first byte). */
  record(channelId: string, outcome: Outcome, reason = outcome === 'ok' ? 'success' : 'failure'): void {
    let c = this.circuits.get(channelId);
    if (!c) {
      if (outcome === 'ok') return; // a closed circuit with no failures has nothing to count
      c = this.fresh();
      this.circuits.set(channelId, c);
    }
    switch (c.state) {
      case 'closed': {
        this.push(c, outcome === 'failure');
        if (c.failuresInWindow >= this.options.failures) {
          const seen = Math.min(c.outcomes.length, this.options.window);
          this.open(channelId, c, 'closed', `${c.failuresInWindow} failures in the last ${seen} requests (last: ${reason})`);
        } else if (c.failuresInWindow === 0) {
          this.circuits.delete(channelId); // healthy again: keep no state for it
        }
        return;
      }
      case 'half-open':
        if (outcome === 'ok') {
          this.circuits.delete(channelId);
          this.onTransition({ channelId, from: 'half-open', to: 'closed', reason: 'probe request succeeded' });
        } else {
          this.open(channelId, c, 'half-open', `probe request failed (${reason})`);
        }
        return;
      case 'open':
        return; // a request that started before the circuit opened: the verdict stands
      default: {
        const never: never = c.state;
        throw new Error(`unknown circuit state ${String(never)}`);
      }
    }
  }

  private open(channelId: string, c: Circuit, from: CircuitState, reason: string): void {
    Object.assign(c, this.fresh(), { state: 'open', openedAt: this.clock.now().getTime() });
    this.onTransition({ channelId, from, to: 'open', reason: `${reason}; out for ${this.options.cooldownMs} ms` });
  }

  private push(c: Circuit, failed: boolean): void {
    if (c.outcomes.length < this.options.window) {
      c.outcomes.push(failed);
    } else {
      if (c.outcomes[c.next]) c.failuresInWindow--;
      c.outcomes[c.next] = failed;
      c.next = (c.next + 1) % this.options.window;
    }
    if (failed) c.failuresInWindow++;
  }

  private fresh(): Circuit {
    return { state: 'closed', outcomes: [], next: 0, failuresInWindow: 0, openedAt: 0, probeUntil: 0 };
  }
}
