/**
 * A throwaway PKI for tests: a CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate, made with the `openssl` binary in a temp dir (removed by the services cleanup).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, requireBinary } from './services.js';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** PEM text of the CA certificate. */
  caPem: string;
}

/** Generate the CA, server and client key pairs (RSA 2048, 1 day). */
export function makeTestPki(): TestPki {
  const openssl = requireBinary('openssl', ['openssl']);
  const dir = makeTempDir('pki');
  const p = (f: string): string => join(dir, f);
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=dmts-test-ca', '-keyout', p('ca-key.pem'), '-out', p('ca.pem')]);
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  writeFileSync(p('client.ext'), 'basicConstraints=CA:FALSE\n');
  for (const [name, cn] of [
    ['server', 'dmts-test-server'],
    ['client', 'dmts-test-client'],
  ] as const) {
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${name}-key.pem`), '-out', p(`${name}.csr`)]);
    run(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca-key.pem'), '-CAcreateserial', '-days', '1', '-extfile', p(`${name}.ext`), '-out', p(`${name}.pem`)]);
  }
  return {
    dir,
    caCert: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server-key.pem'),
    clientCert: p('client.pem'),
    clientKey: p('client-key.pem'),
    caPem: readFileSync(p('ca.pem'), 'utf8'),
  };
}

/** mariadbd flags for a server that accepts TLS connections only. */
export function tlsServerArgs(pki: TestPki): string[] {
  return [`--ssl-ca=${pki.caCert}`, `--ssl-cert=${pki.serverCert}`, `--ssl-key=${pki.serverKey}`, '--require-secure-transport=ON'];
}
