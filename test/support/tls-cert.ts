/**
 * A self-signed certificate for 127.0.0.1 and localhost, made at test time with the `openssl` CLI
 * (no network, nothing committed), once per process: a TLS fake upstream serves it, and a gateway
 * trusts it through UPSTREAM_CA_FILE. Null, with the reason, when openssl is not installed: the
 * tests that need it then skip and say why.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  key: string;
  cert: string;
  /** The certificate's file, to trust (UPSTREAM_CA_FILE). */
  certFile: string;
}

let made: TestCert | { missing: string } | undefined;

export function testCert(): TestCert | { missing: string } {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: 'pipe' },
    );
    made = { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
  } catch (err) {
    made = { missing: `no self-signed certificate (the openssl CLI failed: ${(err as Error).message.split('\n')[0]})` };
  }
  return made;
}
