/**
 * A real MariaDB server in its own temp data dir on a free loopback port, for tests,
 * benchmarks and the quickstart. Binlog on, ROW format, FULL row image, FULL row metadata.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import mysql, { type Connection, type Pool } from 'mysql2/promise';
import { freePort, makeTempDir, removeTempDir, requireBinary, trackChild, waitFor } from './services.js';

export interface MariaDBOptions {
  serverId?: number;
  /** Extra mariadbd flags, e.g. ['--binlog-row-metadata=MINIMAL']. Appended last, so they win. */
  extraArgs?: string[];
  /** Use this dir instead of a fresh temp dir (kept at stop()). */
  baseDir?: string;
  port?: number;
  /** Keep the data dir when stopping (default: remove temp dir). */
  keep?: boolean;
  /**
   * mysql2 `ssl` options for the helper's own connections and connOpts() (needed when extraArgs
   * make the server accept TLS only, e.g. test/helpers/tls.ts `tlsServerArgs`). Default: plain TCP.
   */
  clientSsl?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
}

let nextServerId = 100 + (process.pid % 1000) * 10;

export interface ConnOpts {
  host: string;
  port: number;
  user: string;
  password: string;
  ssl?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
}

export class MariaDBServer {
  /** The server's port (a new free one when the first was taken before mariadbd bound it). */
  get port(): number {
    return this.portNow;
  }
  private portNow: number;
  private readonly fixedPort: boolean;
  /** Set once mariadbd has accepted a connection: a restart keeps its port (clients have it). */
  private started = false;
  readonly serverId: number;
  readonly dir: string;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private readonly args: string[];
  private readonly ownDir: boolean;
  private readonly keep: boolean;
  private readonly clientSsl: ConnOpts['ssl'];
  private pools: Pool[] = [];

  private constructor(dir: string, ownDir: boolean, port: number, fixedPort: boolean, serverId: number, extra: string[], keep: boolean, clientSsl?: ConnOpts['ssl']) {
    this.dir = dir;
    this.clientSsl = clientSsl;
    this.ownDir = ownDir;
    this.portNow = port;
    this.fixedPort = fixedPort;
    this.serverId = serverId;
    this.keep = keep;
    this.dataDir = join(dir, 'data');
    this.args = [
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--server-id=${serverId}`,
      `--log-bin=${join(this.dataDir, 'mysql-bin')}`,
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
      '--log-slave-updates=ON',
      '--local-infile=ON',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--max-connections=500',
      '--innodb-buffer-pool-size=256M',
      '--innodb-log-file-size=256M',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--skip-name-resolve',
      '--user=root',
      `--log-error=${join(dir, 'error.log')}`,
      `--tmpdir=${join(dir, 'tmp')}`,
      ...extra,
    ];
  }

  /** Install a data dir (first time) and start the server; resolves when it accepts connections. */
  static async start(opts: MariaDBOptions = {}): Promise<MariaDBServer> {
    const bin = requireBinary('mariadbd');
    const installDb = requireBinary('mariadb-install-db');
    const dir = opts.baseDir ?? makeTempDir('mariadb');
    const port = opts.port ?? (await freePort());
    const serverId = opts.serverId ?? nextServerId++;
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const s = new MariaDBServer(dir, opts.baseDir === undefined, port, opts.port !== undefined, serverId, opts.extraArgs ?? [], opts.keep ?? false, opts.clientSsl);
    if (!existsSync(join(s.dataDir, 'mysql'))) {
      mkdirSync(s.dataDir, { recursive: true });
      const r = spawnSync(
        installDb,
        [
          '--no-defaults',
          `--tmpdir=${join(dir, 'tmp')}`,
          `--datadir=${s.dataDir}`,
          '--user=root',
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stderr || r.stdout}`);
    }
    void bin;
    await s.startProcess();
    return s;
  }

  /**
   * Start mariadbd. freePort() releases its port before mariadbd binds it, so a concurrent test can
   * take it first: when mariadbd exits early because the port is in use (its error log says so) and
   * the port was not given by the caller, its first start is tried again on a new free port (up to 3
   * times). A restart keeps its port.
   */
  private async startProcess(): Promise<void> {
    const logFile = join(this.dir, 'error.log');
    for (let attempt = 1; ; attempt++) {
      const from = existsSync(logFile) ? statSync(logFile).size : 0;
      try {
        await this.startOnce();
        this.started = true;
        return;
      } catch (e) {
        const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(from) : '';
        if (this.fixedPort || this.started || attempt >= 3 || !/already in use|Can't start server: Bind/i.test(log)) throw e;
        const port = await freePort();
        this.args[this.args.findIndex((a) => a.startsWith('--port='))] = `--port=${port}`;
        this.portNow = port;
      }
    }
  }

  private async startOnce(): Promise<void> {
    const bin = requireBinary('mariadbd');
    const child = spawn(bin, this.args, { stdio: 'ignore', detached: false });
    this.child = child;
    trackChild(child);
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(
      `mariadbd on port ${this.port}`,
      async () => {
        if (exited) throw new Error(`mariadbd exited early; see ${join(this.dir, 'error.log')}`);
        const c = await mysql.createConnection({ ...this.connOpts(), connectTimeout: 1000 });
        await c.end();
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Connection options for root on 127.0.0.1 (what a source.yaml `from` block needs). */
  connOpts(): ConnOpts {
    return { host: '127.0.0.1', port: this.port, user: 'root', password: '', ...(this.clientSsl ? { ssl: this.clientSsl } : {}) };
  }

  async connect(database?: string): Promise<Connection> {
    return mysql.createConnection({
      ...this.connOpts(),
      ...(database ? { database } : {}),
      multipleStatements: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
    });
  }

  /** A shared pool (closed at stop()). */
  pool(): Pool {
    const p = mysql.createPool({
      ...this.connOpts(),
      connectionLimit: 8,
      multipleStatements: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      timezone: 'Z',
    });
    this.pools.push(p);
    return p;
  }

  /** Run SQL (several statements allowed) and return the rows of the last result set. */
  async sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]> {
    const c = await this.connect();
    try {
      const [rows] = await c.query(text, params);
      if (Array.isArray(rows)) {
        const last = Array.isArray(rows[rows.length - 1]) ? (rows[rows.length - 1] as unknown[]) : rows;
        return (Array.isArray(last) ? last : []) as Record<string, unknown>[];
      }
      return [];
    } finally {
      await c.end();
    }
  }

  private async closePools(): Promise<void> {
    const ps = this.pools;
    this.pools = [];
    // a pool whose connection waits on a lock would never end: give up after 5 s (kill ends it)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(ps.map((p) => p.end())), new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
  }

  /** kill -9 the server (data dir kept; start() again with restart()). */
  async kill(): Promise<void> {
    await this.closePools();
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const ex = once(c, 'exit');
    c.kill('SIGKILL');
    await ex;
  }

  /** Graceful shutdown, keeping the data dir. */
  async shutdown(): Promise<void> {
    await this.closePools();
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const ex = once(c, 'exit');
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await ex;
    clearTimeout(t);
  }

  /** Start again on the same port and data dir. */
  async restart(): Promise<void> {
    await this.shutdown();
    await this.startProcess();
  }

  /** Stop and remove the temp dir (unless `keep` or a caller-given baseDir). */
  async stop(): Promise<void> {
    await this.kill();
    if (this.ownDir && !this.keep) removeTempDir(this.dir);
  }
}

/** Start several servers in parallel. */
export async function startMariaDBs(n: number, opts: MariaDBOptions = {}): Promise<MariaDBServer[]> {
  return Promise.all(Array.from({ length: n }, () => MariaDBServer.start(opts)));
}
