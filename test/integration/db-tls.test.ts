// DM `security` (TLS) and `from.session` on the database connections: a source and a target that
// accept TLS only (`require_secure_transport=ON`) and a user that must show a client certificate
// (`REQUIRE X509`). With `security` set, the full phase (dump + load) and the sync unit (target
// pool, source connection, binlog reader) migrate the rows; without it every kind of connection
// is refused with a coded error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MariaDBServer, compareDatabases, describeDiffs, runUnits } from '../helpers/index.js';
import { makeTestPki, tlsServerArgs } from '../helpers/tls.js';
import { dbConnOf, parseSourceConfig } from '../../src/config/index.js';
import { DMError } from '../../src/errors/index.js';
import type { ConnConfig } from '../../src/sql/index.js';
import { createFullUnits } from '../../src/units/full/index.js';
import { SyncUnit } from '../../src/units/sync/index.js';
import { sourceFacts } from '../../src/master/config-adapter.js';
import { checkSourceConnection } from '../../src/master/source-check.js';
import { masterPos, syncConfig, waitConverged } from './sync-fixture.js';

const USER = 'dm_tls';
const PASSWORD = 'tls-pw';

/** A source.yaml text for the server (`security` only when given). */
function sourceYaml(id: string, port: number, security: string, session = ''): string {
  return `source-id: ${id}\nfrom:\n  host: 127.0.0.1\n  port: ${port}\n  user: ${USER}\n  password: ${PASSWORD}\n${security}${session}`;
}

function securityYaml(ca: string, cert: string, key: string): string {
  return `  security:\n    ssl-ca: ${ca}\n    ssl-cert: ${cert}\n    ssl-key: ${key}\n`;
}

function codeOf(e: unknown): string | undefined {
  return e instanceof DMError ? e.codeName : undefined;
}

test('security (TLS) and from.session apply to dump, load, sync and the source check', { timeout: 240_000 }, async (t) => {
  const pki = makeTestPki();
  const other = makeTestPki(); // a CA that did not sign the servers' certificates
  const serverOpts = { clientSsl: { ca: pki.caPem } };
  const [src, dst] = await Promise.all([
    // the source logs its statements so the test can see the `from.session` SETs
    MariaDBServer.start({ ...serverOpts, extraArgs: [...tlsServerArgs(pki), '--general-log=ON', '--log-output=TABLE'] }),
    MariaDBServer.start({ ...serverOpts, extraArgs: tlsServerArgs(pki) }),
  ]);
  const syncUnits: SyncUnit[] = [];
  t.after(async () => {
    await Promise.all(syncUnits.map((u) => u.close()));
    await Promise.all([src.stop(), dst.stop()]);
  });
  for (const s of [src, dst]) {
    await s.sql(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}' REQUIRE X509; GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%'`);
  }
  await src.sql('CREATE DATABASE tl; CREATE TABLE tl.a (id INT PRIMARY KEY, v VARCHAR(20))');
  await src.sql(`INSERT INTO tl.a VALUES ${Array.from({ length: 1000 }, (_, i) => `(${i}, 'v${i}')`).join(',')}`);
  await dst.sql('CREATE DATABASE dm_meta');

  const sec = securityYaml(pki.caCert, pki.clientCert, pki.clientKey);
  const srcCfg = parseSourceConfig(sourceYaml('tls-src', src.port, sec, '  session:\n    wait_timeout: 12345\n'));
  const dstCfg = parseSourceConfig(sourceYaml('tls-dst', dst.port, sec));
  const source = dbConnOf(srcCfg.from, 'source tls-src: from');
  const target = dbConnOf(dstCfg.from, 'target');
  assert.equal(source.ssl?.rejectUnauthorized, true, 'ssl-ca given: the server certificate is verified');
  assert.ok(source.ssl?.ca?.includes('BEGIN CERTIFICATE') && source.ssl.key?.includes('PRIVATE KEY'));
  assert.deepEqual(source.session, { wait_timeout: 12345 });
  const plain = (c: ConnConfig): ConnConfig => ({ host: c.host, port: c.port, user: c.user, password: c.password });

  // --- the master's source check (operate-source create)
  await checkSourceConnection(sourceFacts(sourceYaml('tls-src', src.port, sec)));
  await assert.rejects(checkSourceConnection(sourceFacts(sourceYaml('tls-src', src.port, ''))), (e) => codeOf(e) === 'ErrDBAccessDenied');
  await assert.rejects(
    checkSourceConnection(sourceFacts(sourceYaml('tls-src', src.port, securityYaml(other.caCert, pki.clientCert, pki.clientKey)))),
    (e) => codeOf(e) === 'ErrDBTLSHandshake',
  );
  assert.throws(
    () => dbConnOf(parseSourceConfig(sourceYaml('tls-src', src.port, securityYaml(`${pki.dir}/missing.pem`, pki.clientCert, pki.clientKey))).from, 'from'),
    (e) => codeOf(e) === 'ErrConfigTLSFile' && String((e as Error).message).includes('missing.pem'),
  );

  // --- without security: the full phase is refused with a coded error, on either side
  for (const [s, d, side] of [
    [plain(source), target, 'source'],
    [source, plain(target), 'target'],
  ] as const) {
    const { units } = createFullUnits({
      taskName: `tls-plain-${side}`,
      sourceId: 'tls-src',
      taskMode: 'full',
      source: s,
      target: d,
      baList: { doDbs: ['tl'] },
      mydumper: { threads: 2, rows: 500 },
      loader: { poolSize: 2 },
    });
    const errors = [];
    for (const u of units) {
      const r = await u.process(new AbortController().signal);
      errors.push(...r.errors);
      await u.close();
      if (r.errors.length > 0) break;
    }
    assert.ok(
      errors.some((e) => e.codeName === 'ErrDBAccessDenied'),
      `plain ${side}: ${JSON.stringify(errors.map((e) => [e.codeName, e.message]))}`,
    );
  }
  // ... and the sync unit's target pool
  const refused = new SyncUnit(syncConfig(src, dst, { taskName: 'tls-plain', source: { ...source, flavor: 'mariadb', serverId: 4242 }, target: plain(target) }), { heartbeatMs: 200 });
  await assert.rejects(refused.init(new AbortController().signal), (e) => codeOf(e) === 'ErrDBAccessDenied');
  await refused.close();

  // --- with security: full phase, then sync
  await src.sql('TRUNCATE mysql.general_log');
  const { units } = createFullUnits({
    taskName: 'tls',
    sourceId: 'tls-src',
    taskMode: 'full',
    source,
    target,
    baList: { doDbs: ['tl'] },
    mydumper: { threads: 2, rows: 250 },
    loader: { poolSize: 2 },
  });
  await runUnits(units, { close: true });
  const loaded = await compareDatabases(src.connOpts(), dst.connOpts(), 'tl');
  assert.ok(loaded.length === 1 && loaded.every((d) => d.equal), describeDiffs(loaded));

  const start = await masterPos(src);
  const unit = new SyncUnit(syncConfig(src, dst, { taskName: 'tls', start, source: { ...source, flavor: 'mariadb', serverId: 4243 }, target }), { heartbeatMs: 200 });
  syncUnits.push(unit);
  const ac = new AbortController();
  await unit.init(ac.signal);
  const running = unit.process(ac.signal);
  await src.sql("INSERT INTO tl.a VALUES (5000, 'new'); UPDATE tl.a SET v = 'changed' WHERE id < 100; DELETE FROM tl.a WHERE id BETWEEN 100 AND 199");
  const synced = await waitConverged(src, dst, ['tl']);
  assert.ok(synced.length === 1 && synced.every((d) => d.equal), describeDiffs(synced));
  // every connection of the migration user to the source was TLS (the server refuses others) and
  // the ones running DM.ts's queries (dump snapshot, load's master status) set from.session
  const sets = await src.sql(
    "SELECT COUNT(*) AS n FROM mysql.general_log WHERE user_host LIKE ? AND command_type = 'Query' AND argument LIKE '%SESSION wait_timeout = 12345%'",
    [`${USER}[${USER}]%`],
  );
  assert.ok(Number(sets[0]?.['n']) >= 3, `from.session SETs seen on the source: ${String(sets[0]?.['n'])}`);
  ac.abort();
  const r = await running;
  assert.deepEqual(r.errors, []);
});
