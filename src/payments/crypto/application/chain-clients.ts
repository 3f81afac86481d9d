/**
 * The configured chains' JSON-RPC clients (ethers v6), one per chain, made once. Block numbers
 * are not cached (`cacheTimeout: -1`: ethers would otherwise answer 250 ms old heads), the
 * network is fixed (no detection loop against an RPC that is down), and each request times out,
 * so a hanging RPC fails that chain's run instead of holding it. `verified` checks that the RPC
 * serves the chain it is configured for: an RPC of another chain is refused loudly, by name.
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type * as Ethers from 'ethers';
import type { JsonRpcProvider } from 'ethers';
import { APP_CONFIG, AppConfig, ChainConfig, ChainName } from '../../../config/config';
import { onFirstUse } from '../../../platform/on-first-use';
import { CryptoError } from '../domain/crypto';

/** ethers, loaded when a chain is first called or a claim verified (platform/on-first-use.ts). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const ethers = onFirstUse(() => require('ethers') as typeof Ethers);

export const RPC_TIMEOUT_MS = 15_000;

@Injectable()
export class ChainClients implements OnModuleDestroy {
  private readonly providers = new Map<ChainName, JsonRpcProvider>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  get chains(): readonly ChainConfig[] {
    return this.config.CHAINS;
  }

  chain(name: string): ChainConfig | undefined {
    return this.config.CHAINS.find((c) => c.name === name);
  }

  chainById(chainId: number): ChainConfig | undefined {
    return this.config.CHAINS.find((c) => c.chainId === chainId);
  }

  provider(chain: ChainConfig): JsonRpcProvider {
    let p = this.providers.get(chain.name);
    if (!p) {
      // The scanner polls with eth_getLogs; a WebSocket URL (which the configuration accepts) is refused by name.
      if (!/^https?:/.test(chain.rpcUrl)) throw new Error(`the ${chain.name} RPC URL must be http(s) for the chain scanner (CHAIN_${chain.name.toUpperCase()}_RPC_URL)`);
      const { FetchRequest, JsonRpcProvider, Network } = ethers();
      const request = new FetchRequest(chain.rpcUrl);
      request.timeout = RPC_TIMEOUT_MS;
      p = new JsonRpcProvider(request, Network.from(chain.chainId), { cacheTimeout: -1, staticNetwork: true, batchMaxCount: 20 });
      this.providers.set(chain.name, p);
    }
    return p;
  }

  /** The provider, after checking that its RPC answers with the configured chain id. */
  async verified(chain: ChainConfig): Promise<JsonRpcProvider> {
    const p = this.provider(chain);
    let answered: number;
    try {
      answered = Number(await p.send('eth_chainId', []));
    } catch (err) {
      throw new CryptoError('chain_unavailable', `the ${chain.name} RPC does not answer: ${shortError(err)}`);
    }
    if (answered !== chain.chainId) {
      throw new Error(`the ${chain.name} RPC serves chain id ${answered}, not ${chain.chainId}: refusing to read it (check CHAIN_${chain.name.toUpperCase()}_RPC_URL)`);
    }
    return p;
  }

  onModuleDestroy(): void {
    for (const p of this.providers.values()) p.destroy();
    this.providers.clear();
  }
}

/** An RPC failure in one line, without the request's body (ethers puts the payload in its messages). */
export function shortError(err: unknown): string {
  const e = err as { code?: string; shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(err)).split('\n')[0].slice(0, 200) + (e.code ? ` (${e.code})` : '');
}
