/**
 * etcd's own user/password authentication on the embedded etcd cluster (`etcd-user` /
 * `etcd-password` of a dm-master without `etcd-endpoints`).
 *
 * Without it anyone who reaches the embedded member's client port (and, with TLS, holds a client
 * certificate of the CA) can read and write every key — the cluster's whole desired state. With
 * it, a master makes sure, once its member answers, that etcd auth is on and that the configured
 * user exists with the `root` role:
 *
 *   1. authenticate as the configured user: it works → auth is on, nothing to do (every restart,
 *      and every master joining a cluster another master secured already);
 *      etcd says the password is wrong → ErrEtcdAuthFailed (a differently configured master);
 *   2. etcd says auth is not enabled (FAILED_PRECONDITION) → as an anonymous client: role `root`,
 *      user `root` (etcd refuses to enable auth without it; given a random password nobody keeps
 *      — the configured user, which has role root, can reset it with `etcdctl user passwd root`),
 *      the configured user with its password and role `root`, then `auth enable`;
 *   3. authenticate again: that must work now.
 *
 * Masters of one cluster starting together may run step 2 at the same time: "already exists"
 * answers are expected, and once another master enabled auth the anonymous calls are refused —
 * step 3 decides. What it does not do: change the password of an existing user (a user created
 * with another password stays; change it with etcdctl, then the config), or turn auth off again
 * when the keys are removed (the masters then cannot reach etcd: `etcdctl auth disable` first).
 */
import { randomBytes } from 'node:crypto';
import {
  EtcdAuthenticationFailedError,
  EtcdRoleExistsError,
  EtcdUserExistsError,
  GRPCFailedPreconditionError,
  type Etcd3,
} from 'etcd3';
import { DMError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { createEtcdClient, type EtcdTlsFiles } from '../store/index.js';

const ROOT = 'root';

export interface EmbeddedEtcdAuthOptions {
  endpoints: string[];
  tls?: EtcdTlsFiles | undefined;
  auth: { username: string; password: string };
  logger: Logger;
}

type Probe = 'ok' | 'auth-off';

/** Authenticate as the configured user and read one key. */
async function probe(o: EmbeddedEtcdAuthOptions): Promise<Probe> {
  const c = createEtcdClient({ endpoints: o.endpoints, tls: o.tls, auth: o.auth, unaryDeadlineMs: 5000 });
  try {
    await c.get('/dm-ts-auth-probe').string();
    return 'ok';
  } catch (e) {
    if (e instanceof GRPCFailedPreconditionError) return 'auth-off';
    if (e instanceof EtcdAuthenticationFailedError)
      throw new DMError('ErrEtcdAuthFailed', `the embedded etcd refused etcd-user "${o.auth.username}" with the configured etcd-password`, { cause: e });
    throw e;
  } finally {
    c.close();
  }
}

async function ignoring(call: Promise<unknown>, ...expected: (new (...a: never[]) => Error)[]): Promise<void> {
  try {
    await call;
  } catch (e) {
    if (!expected.some((k) => e instanceof k)) throw e;
  }
}

/** Create role and users and enable auth, as an anonymous client. */
async function enable(c: Etcd3, user: { username: string; password: string }): Promise<void> {
  await ignoring(c.auth.roleAdd({ name: ROOT }), EtcdRoleExistsError);
  if (user.username !== ROOT)
    await ignoring(c.auth.userAdd({ name: ROOT, password: randomBytes(24).toString('base64url') }), EtcdUserExistsError);
  await ignoring(c.auth.userAdd({ name: user.username, password: user.password }), EtcdUserExistsError);
  await c.auth.userGrantRole({ user: ROOT, role: ROOT });
  if (user.username !== ROOT) await c.auth.userGrantRole({ user: user.username, role: ROOT });
  await c.auth.authEnable();
}

/**
 * Make sure etcd auth is on in the embedded cluster with the configured user (see the file head).
 * Throws ErrEtcdAuthFailed when etcd refuses the configured password (retrying cannot help);
 * other errors (no quorum yet, auth not on yet) are thrown as they are, for the caller's
 * wait-for-quorum loop to retry.
 */
export async function ensureEmbeddedEtcdAuth(o: EmbeddedEtcdAuthOptions): Promise<void> {
  if ((await probe(o)) === 'ok') return;
  const anon = createEtcdClient({ endpoints: o.endpoints, tls: o.tls, unaryDeadlineMs: 5000 });
  try {
    await enable(anon, o.auth);
    o.logger.info({ user: o.auth.username }, 'etcd authentication enabled on the embedded cluster');
  } catch (err) {
    // another master may have enabled auth in the meantime: the probe below decides
    o.logger.info({ err: (err as Error).message }, 'enabling etcd authentication did not complete here');
  } finally {
    anon.close();
  }
  // still off: enabling failed (no quorum yet?); the caller's wait-for-quorum loop tries again
  if ((await probe(o)) !== 'ok') throw new Error(`etcd authentication is still off on the embedded cluster`);
}
