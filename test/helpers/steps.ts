/**
 * Named steps with deadlines for long integration tests: a step that does not end in time fails
 * the test at once with the step's name and what each server is doing (SHOW FULL PROCESSLIST),
 * instead of hanging until the runner's 10-minute file timeout with no clue where it stopped.
 */
import type { MariaDBServer } from './mariadb.js';

export type Step = <T>(name: string, fn: () => Promise<T>, timeoutMs?: number) => Promise<T>;

async function processlist(name: string, s: MariaDBServer): Promise<string> {
  try {
    const rows = await Promise.race([
      s.sql(
        "SELECT ID, USER, DB, COMMAND, TIME, STATE, LEFT(INFO, 200) AS INFO FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Daemon'",
      ),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error('processlist timed out')), 5000).unref()),
    ]);
    return `${name} (port ${s.port}):\n${rows.map((r) => '  ' + JSON.stringify(r)).join('\n')}`;
  } catch (e) {
    return `${name} (port ${s.port}): ${(e as Error).message}`;
  }
}

/** A step runner whose timeouts report the processlists of `servers`. */
export function steps(servers: Record<string, MariaDBServer>, defaultTimeoutMs = 120_000): Step {
  return async <T>(name: string, fn: () => Promise<T>, timeoutMs = defaultTimeoutMs): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const deadline = new Promise<never>((_, rej) => {
      timer = setTimeout(() => {
        void Promise.all(Object.entries(servers).map(([n, s]) => processlist(n, s))).then((lists) =>
          rej(new Error(`step "${name}" did not end within ${timeoutMs} ms\n${lists.join('\n')}`)),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([fn(), deadline]);
    } finally {
      clearTimeout(timer);
      if (process.env['DM_TEST_STEPS']) console.log(`# step ${name}: ${Date.now() - started} ms`);
    }
  };
}
