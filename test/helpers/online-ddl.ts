/**
 * Online schema change tools as tests drive them: gh-ost's statement sequence replayed in SQL
 * (gh-ost is not packaged for Debian; statements as in its go/logic/applier.go: changelog table
 * `_t_ghc`, ghost table `_t_gho` created LIKE the original and altered, row copy by INSERT IGNORE
 * ... SELECT over key ranges, the binlog applier's REPLACE / DELETE, the atomic cut-over with its
 * sentry table `_t_del`, LOCK TABLES and a blocked RENAME, or the two-step ALTER ... RENAME), and
 * Debian's pt-online-schema-change (percona-toolkit) run for real. Tables `db.t (id, v, n)`.
 */
import { execFile, spawnSync } from 'node:child_process';
import type { Connection } from 'mysql2/promise';
import type { MariaDBServer } from './mariadb.js';
import { waitFor } from './services.js';
import { loopWriter, type Writer } from './writer.js';

/** Writes to `db.t` (id, v, n) until stopped: inserts, updates, deletes; `gho()` says whether gh-ost's applier must mirror them. */
export function appWriter(src: MariaDBServer, db: string, firstId: number, gho: () => boolean): Writer {
  return loopWriter(
    src,
    db,
    async (c: Connection, i) => {
      const id = firstId + i;
      await c.query('INSERT INTO t (id, v, n) VALUES (?, ?, ?)', [id, `w${i}`, i]);
      await c.query('UPDATE t SET n = n + 1 WHERE id = ?', [1 + (i % 150)]);
      if (i % 7 === 3) await c.query('DELETE FROM t WHERE id = ?', [200 + i]);
      if (gho()) {
        // gh-ost's binlog applier: each change of the original table replayed on the ghost table
        await c.query('replace /* gh-ost */ into `_t_gho` (`id`, `v`, `n`) (select `id`, `v`, `n` from `t` where `id` in (?, ?))', [id, 1 + (i % 150)]);
        if (i % 7 === 3) await c.query('delete /* gh-ost */ from `_t_gho` where `id` = ?', [200 + i]);
        // gh-ost's heartbeat in its changelog table
        await c.query("insert /* gh-ost */ into `_t_ghc` (id, hint, value) values (NULLIF(?, 0), ?, ?) on duplicate key update last_update=NOW(), value=VALUES(value)", [1, 'heartbeat', new Date().toISOString()]);
      }
      return 3;
    },
    { pauseMs: 20 },
  );
}

/** gh-ost's statements up to and including the ALTER of the ghost table (go/logic/applier.go). */
export async function ghostPrepare(src: MariaDBServer, db: string, alter: string): Promise<void> {
  const q = (s: string): string => s.replaceAll('DB', `\`${db}\``);
  await src.sql(q('drop /* gh-ost */ table if exists DB.`_t_ghc`'));
  await src.sql(
    q(`create /* gh-ost */ table DB.\`_t_ghc\` (
			id bigint unsigned auto_increment,
			last_update timestamp not null DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
			hint varchar(64) charset ascii not null,
			value varchar(4096) charset ascii not null,
			primary key(id),
			unique key hint_uidx(hint)
		) auto_increment=256 comment='gh-ost changelog'`),
  );
  await src.sql(q("insert /* gh-ost */ into DB.`_t_ghc` (id, hint, value) values (NULLIF(2, 0), 'state', 'GhostTableMigrated') on duplicate key update last_update=NOW(), value=VALUES(value)"));
  await src.sql(q('create /* gh-ost */ table DB.`_t_gho` like DB.`t`'));
  await src.sql(q(`alter /* gh-ost */ table DB.\`_t_gho\` ${alter}`));
}

/** gh-ost's row copy: INSERT IGNORE ... SELECT over primary-key ranges of `chunk` rows. */
export async function ghostRowCopy(src: MariaDBServer, db: string, chunk: number): Promise<void> {
  const [mx] = await src.sql(`SELECT COALESCE(MAX(id), 0) AS m FROM \`${db}\`.t`);
  const max = Number(mx?.['m']);
  for (let lo = 0; lo <= max; lo += chunk) {
    await src.sql(
      `insert /* gh-ost */ ignore into \`${db}\`.\`_t_gho\` (\`id\`, \`v\`, \`n\`) (select \`id\`, \`v\`, \`n\` from \`${db}\`.\`t\` force index (\`PRIMARY\`) where (((\`id\` > ?)) and ((\`id\` < ?) or ((\`id\` = ?)))) lock in share mode)`,
      [lo, lo + chunk, lo + chunk],
    );
  }
}

/** The ghost table catches up with the original (gh-ost's applier backlog before the cut-over). */
export async function ghostCatchUp(src: MariaDBServer, db: string): Promise<void> {
  await src.sql(`replace /* gh-ost */ into \`${db}\`.\`_t_gho\` (id, v, n) select id, v, n from \`${db}\`.t`);
  await src.sql(`delete /* gh-ost */ from \`${db}\`.\`_t_gho\` where id not in (select id from \`${db}\`.t)`);
}

/**
 * gh-ost's atomic cut-over: the sentry table `_t_del`, LOCK TABLES on the original and the sentry,
 * the RENAME issued on a second connection (it blocks), then DROP of the sentry and UNLOCK.
 */
export async function ghostAtomicCutOver(src: MariaDBServer, db: string): Promise<void> {
  const lock = await src.connect(db);
  const rename = await src.connect(db);
  try {
    await lock.query("create /* gh-ost */ table `" + db + "`.`_t_del` (\n\t\t\tid int auto_increment primary key\n\t\t) engine=InnoDB comment='ghost-cut-over-sentry'");
    await lock.query('set /* gh-ost */ session lock_wait_timeout:=6');
    await lock.query(`lock /* gh-ost */ tables \`${db}\`.\`t\` write, \`${db}\`.\`_t_del\` write`);
    await rename.query('set /* gh-ost */ session lock_wait_timeout:=3');
    const renamed = rename.query(`rename /* gh-ost */ table \`${db}\`.\`t\` to \`${db}\`.\`_t_del\`, \`${db}\`.\`_t_gho\` to \`${db}\`.\`t\``);
    // the RENAME waits for the lock (gh-ost checks it in the processlist before going on)
    await waitFor('rename blocked on the lock', async () => {
      const [rows] = await lock.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'rename /* gh-ost */%'");
      return Number((rows as { n: unknown }[])[0]?.n) > 0;
    }, { timeoutMs: 5000, intervalMs: 20 });
    await lock.query(`drop /* gh-ost */ table if exists \`${db}\`.\`_t_del\``);
    await lock.query('unlock /* gh-ost */ tables');
    await renamed;
  } finally {
    await lock.end();
    await rename.end();
  }
}

/** pt-online-schema-change with DBD::mysql, or the reason it cannot run here (with the install command). */
export function ptOscMissing(): string | undefined {
  const install = 'apt-get update && apt-get install -y percona-toolkit libdbd-mysql-perl';
  const which = spawnSync('sh', ['-c', 'command -v pt-online-schema-change'], { encoding: 'utf8' });
  const dbd = spawnSync('perl', ['-MDBD::mysql', '-e', '1']);
  if (which.status === 0 && dbd.status === 0) return undefined;
  if (process.getuid?.() === 0) {
    const r = spawnSync('sh', ['-c', install], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status === 0) return undefined;
  }
  return `pt-online-schema-change or DBD::mysql is missing; install it with: ${install}`;
}


/** Run pt-online-schema-change on `db.t` of `src` (no replicas); resolves to its output. */
export function runPtOsc(src: MariaDBServer, db: string, alter: string, extra: readonly string[] = []): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(
      'pt-online-schema-change',
      ['--alter', alter, `h=127.0.0.1,P=${src.port},u=root,D=${db},t=t`, '--execute', '--recursion-method=none', '--no-check-replication-filters', ...extra],
      { encoding: 'utf8', timeout: 180_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`pt-online-schema-change failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)),
    );
  });
}
