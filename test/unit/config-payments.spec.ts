import { loadConfig } from '../../src/config/config';

const base = { DATABASE_URL: 'postgres://localhost/x' };

describe('payments configuration', () => {
  it('offers a chain only with an RPC URL and a receiving address, with the official tokens by default', () => {
    const c = loadConfig({ ...base, CHAIN_BASE_RPC_URL: 'http://127.0.0.1:8545', CRYPTO_RECEIVE_ADDRESS: '0x' + 'aB'.repeat(20) });
    expect(c.CHAINS).toEqual([
      { name: 'base', chainId: 8453, rpcUrl: 'http://127.0.0.1:8545', receiveAddress: '0x' + 'ab'.repeat(20), tokens: [{ symbol: 'USDC', address: '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913' }] },
    ]);
    expect(c.CRYPTO_FINALITY).toBe('finalized');
    expect(c.TOPUP_MAX_USD).toBe(10_000);
    expect(loadConfig(base).CHAINS).toEqual([]);
  });

  it('takes a per-chain address and token list, and a number of confirmations', () => {
    const c = loadConfig({
      ...base,
      CHAIN_ETHEREUM_RPC_URL: 'http://127.0.0.1:1',
      CRYPTO_RECEIVE_ADDRESS_ETHEREUM: '0x' + '11'.repeat(20),
      CRYPTO_TOKENS_ETHEREUM: 'USDT:0x' + '22'.repeat(20),
      CRYPTO_FINALITY: '12',
    });
    expect(c.CHAINS).toEqual([{ name: 'ethereum', chainId: 1, rpcUrl: 'http://127.0.0.1:1', receiveAddress: '0x' + '11'.repeat(20), tokens: [{ symbol: 'USDT', address: '0x' + '22'.repeat(20) }] }]);
    expect(c.CRYPTO_FINALITY).toBe(12);
  });

  it.each([
    ['CRYPTO_TOKENS_BASE', 'USDC'],
    ['CRYPTO_TOKENS_BASE', 'usdc:0x' + '22'.repeat(20)],
    ['CRYPTO_RECEIVE_ADDRESS', '0x123'],
    ['CRYPTO_FINALITY', 'latest'],
    ['TOPUP_MAX_USD', '4'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(() => loadConfig({ ...base, [name]: value })).toThrow(new RegExp(name));
  });
});
