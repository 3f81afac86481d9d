import { gatewayEnvFrom } from '../../../bench/proxy/bench-servers';

// BENCH_GATEWAY_ENV: how `npm run bench:proxy` compares two settings of one build.
describe('BENCH_GATEWAY_ENV', () => {
  it('reads NAME=value pairs, values may hold = and be empty', () => {
    expect(gatewayEnvFrom('LEDGER_SETTLE_JOIN_MS=0  ACCOUNT_RPM=5\tX_1=a=b EMPTY=')).toEqual({
      LEDGER_SETTLE_JOIN_MS: '0',
      ACCOUNT_RPM: '5',
      X_1: 'a=b',
      EMPTY: '',
    });
    expect(gatewayEnvFrom(undefined)).toEqual({});
    expect(gatewayEnvFrom('  ')).toEqual({});
  });

  it('refuses what is not NAME=value, naming it', () => {
    for (const bad of ['LEDGER_SETTLE_JOIN_MS', 'ledger_settle_join_ms=2', '=2', '1A=2', 'A-B=1']) {
      expect(() => gatewayEnvFrom(`OK=1 ${bad}`)).toThrow(`"${bad}" is not NAME=value`);
    }
  });
});
