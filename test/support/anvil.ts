/**
 * A real chain for the crypto tests and the scan benchmark: `anvil` (the npm package
 * @foundry-rs/anvil-linux-amd64) on a free port with a chain id of ours, `--slots-in-an-epoch 1`
 * so the `finalized` tag follows the head closely, and a 6-decimal ERC-20 (erc20/TestToken.sol)
 * compiled here with solc (pure JS, evmVersion paris; compiled once per process) and deployed
 * from anvil's unlocked dev accounts with ethers v6. When the binary is missing, `anvilMissing()`
 * says why, and the spec skips with that reason printed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Contract, ContractFactory, JsonRpcProvider, JsonRpcSigner, Network, TransactionReceipt } from 'ethers';
import { freePort } from './wait';

/** The repository's root, whether this runs from test/support (jest) or dist/test/support (the built bench). */
const ROOT = (() => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
  return join(__dirname, '..', '..');
})();

export const ANVIL_BIN = join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');

/** Why anvil cannot run here, or null when it can. */
export function anvilMissing(): string | null {
  return existsSync(ANVIL_BIN) ? null : `anvil is not installed (${ANVIL_BIN}); run npm ci on linux x64`;
}

interface Compiled {
  abi: unknown[];
  bytecode: string;
}
let compiled: Compiled | null = null;

/** The test token's ABI and bytecode (solc in JS takes seconds: once per process). */
export function testTokenArtifact(): Compiled {
  if (compiled) return compiled;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require('solc') as { compile(input: string): string };
  const source = readFileSync(join(ROOT, 'test/support/erc20/TestToken.sol'), 'utf8');
  const input = {
    language: 'Solidity',
    sources: { 'TestToken.sol': { content: source } },
    settings: { evmVersion: 'paris', optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: Array<{ severity: string; formattedMessage: string }>;
    contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = output.contracts['TestToken.sol'].TestToken;
  compiled = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  return compiled;
}

export interface Anvil {
  url: string;
  chainId: number;
  provider: JsonRpcProvider;
  /** anvil's unlocked dev accounts (10, each with 10,000 ETH). */
  accounts: string[];
  signer(index: number): Promise<JsonRpcSigner>;
  /** Deploys a test token (6 decimals) from dev account 0; its address lower-cased. */
  deployToken(symbol: string): Promise<TestToken>;
  mine(blocks?: number): Promise<void>;
  blockNumber(): Promise<number>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<void>;
  /** Stops automatic mining (transactions wait in the pool until `mine`), or starts it again. */
  automine(on: boolean): Promise<void>;
  /** The next block's timestamp (seconds), for expiry. */
  setNextBlockTimestamp(seconds: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestToken {
  address: string;
  contract: Contract;
  /** Mints to `to` from nobody (a Transfer from address 0). */
  mint(to: string, units: bigint): Promise<TransactionReceipt>;
  /** A transfer from dev account `from` (index) to `to`; mines it when automining. */
  transfer(from: number, to: string, units: bigint): Promise<TransactionReceipt>;
  /** Sends a transfer without waiting for a block (automine off). */
  send(from: number, to: string, units: bigint): Promise<string>;
}

export async function startAnvil(chainId: number): Promise<Anvil> {
  const missing = anvilMissing();
  if (missing) throw new Error(missing);
  const port = await freePort();
  const child: ChildProcess = spawn(ANVIL_BIN, ['--port', String(port), '--host', '127.0.0.1', '--chain-id', String(chainId), '--slots-in-an-epoch', '1', '--quiet'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(url, Network.from(chainId), { cacheTimeout: -1, staticNetwork: true, pollingInterval: 100 });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await provider.send('eth_chainId', []);
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`anvil did not start (exit ${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const accounts = ((await provider.send('eth_accounts', [])) as string[]).map((a) => a.toLowerCase());
  const signer = (i: number) => provider.getSigner(accounts[i]);
  const rpc = (method: string, params: unknown[] = []) => provider.send(method, params);

  return {
    url,
    chainId,
    provider,
    accounts,
    signer,
    async deployToken(symbol) {
      const art = testTokenArtifact();
      const factory = new ContractFactory(art.abi as never, art.bytecode, await signer(0));
      const deployed = await factory.deploy(`Test ${symbol}`, symbol);
      await deployed.waitForDeployment();
      const address = (await deployed.getAddress()).toLowerCase();
      const contract = deployed as unknown as Contract;
      const as = async (i: number) => contract.connect(await signer(i)) as Contract;
      return {
        address,
        contract,
        async mint(to, units) {
          const tx = await (await as(0)).getFunction('mint')(to, units);
          return (await tx.wait()) as TransactionReceipt;
        },
        async transfer(from, to, units) {
          const tx = await (await as(from)).getFunction('transfer')(to, units);
          return (await tx.wait()) as TransactionReceipt;
        },
        async send(from, to, units) {
          const tx = await (await as(from)).getFunction('transfer')(to, units);
          return tx.hash as string;
        },
      };
    },
    async mine(blocks = 1) {
      await rpc('anvil_mine', [`0x${blocks.toString(16)}`]);
    },
    async blockNumber() {
      return Number(await rpc('eth_blockNumber'));
    },
    async snapshot() {
      return (await rpc('evm_snapshot')) as string;
    },
    async revert(id) {
      const ok = (await rpc('evm_revert', [id])) as boolean;
      if (!ok) throw new Error(`evm_revert ${id} refused`);
    },
    async automine(on) {
      await rpc('evm_setAutomine', [on]);
    },
    async setNextBlockTimestamp(seconds) {
      await rpc('evm_setNextBlockTimestamp', [seconds]);
    },
    async close() {
      provider.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        clearTimeout(timer);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
