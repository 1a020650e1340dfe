import { DMError } from '../errors/index.js';
import { decryptOrPlaintext } from './encrypt.js';

/** The etcd keys of dm-master.yaml / dm-worker.yaml (camelCase, as loaded). */
export interface EtcdAccessConfig {
  etcdSslCa?: string | undefined;
  etcdSslCert?: string | undefined;
  etcdSslKey?: string | undefined;
  etcdUser?: string | undefined;
  etcdPassword?: string | undefined;
}

/** How this process reaches etcd: TLS files and user/password (both optional). */
export interface EtcdAccess {
  tls?: { ca: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
}

/**
 * `etcd-ssl-*` and `etcd-user`/`etcd-password` → client settings. The password may be
 * `dmctl encrypt` text (decrypted with `secretKey`, DM's rule: text that does not decrypt is
 * plaintext). Incomplete settings are refused with ErrConfigEtcdTLS.
 */
export function etcdAccessOf(cfg: EtcdAccessConfig, secretKey?: Buffer): EtcdAccess {
  const { etcdSslCa: ca, etcdSslCert: cert, etcdSslKey: key } = cfg;
  if (Boolean(cert) !== Boolean(key))
    throw new DMError('ErrConfigEtcdTLS', 'etcd-ssl-cert and etcd-ssl-key must be set together');
  if ((cert || key) && !ca)
    throw new DMError('ErrConfigEtcdTLS', 'etcd-ssl-cert/etcd-ssl-key need etcd-ssl-ca (the CA that signed the etcd members\' certificates)');
  if (Boolean(cfg.etcdUser) !== Boolean(cfg.etcdPassword))
    throw new DMError('ErrConfigEtcdTLS', 'etcd-user and etcd-password must be set together');
  return {
    ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
    ...(cfg.etcdUser && cfg.etcdPassword
      ? { auth: { username: cfg.etcdUser, password: decryptOrPlaintext(cfg.etcdPassword, secretKey) } }
      : {}),
  };
}
