/**
 * `npm run chaos [-- --rounds 6 --seconds 600 ...]`: the chaos run (test/chaos/chaos.ts) with
 * its printed report; exit code 1 when a goal is missed (rows lost or duplicated, half
 * transactions seen, a task that needed a human, target != source). See docs/chaos.md.
 */
import { parseArgs } from 'node:util';
import { DEFAULTS, FAULT_KINDS, type FaultKind, failures, formatReport, runChaos } from './chaos.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: String(DEFAULTS.rounds) },
    seconds: { type: 'string', default: String(DEFAULTS.seconds) },
    faults: { type: 'string', default: DEFAULTS.faults.join(',') },
    'no-load-kill': { type: 'boolean', default: false },
    'target-down': { type: 'string', default: String(DEFAULTS.targetDownMs / 1000) },
    'leader-stop': { type: 'string', default: String(DEFAULTS.leaderStopMs / 1000) },
    'worker-down': { type: 'string', default: String(DEFAULTS.workerDownMs / 1000) },
    settle: { type: 'string', default: String(DEFAULTS.settleMs / 1000) },
    'human-after': { type: 'string', default: String(DEFAULTS.humanAfterMs / 1000) },
    'recover-timeout': { type: 'string', default: String(DEFAULTS.recoverTimeoutMs / 1000) },
    'bulk-rows': { type: 'string', default: String(DEFAULTS.bulkRows) },
    writers: { type: 'string', default: String(DEFAULTS.writers) },
    'ddl-every': { type: 'string', default: String(DEFAULTS.ddlEveryMs / 1000) },
    'ddl-during-load': { type: 'boolean', default: false },
    ttl: { type: 'string', default: String(DEFAULTS.ttl) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    [
      'usage: npm run chaos -- [flags]',
      '  --rounds N           passes over the fault list (default 6)',
      '  --seconds S          no new fault after S seconds (default 600)',
      `  --faults a,b,...     fault kinds, in rotation (default ${FAULT_KINDS.join(',')})`,
      '  --no-load-kill       skip the worker kill -9 during Load that opens round 1',
      '  --target-down S      how long the target MariaDB stays stopped (default 30)',
      '  --leader-stop S      how long the leader master (and its etcd) stays SIGSTOPped (default 20)',
      '  --worker-down S      how long a killed worker stays down (default 2)',
      '  --settle S           normal operation between faults (default 5)',
      '  --human-after S      a subtask paused with an error this long needed a human (default 60)',
      '  --recover-timeout S  give up waiting for the recovery of a fault after S seconds (default 240)',
      '  --bulk-rows N        rows of the bulk table per source, for the Load window (default 300000)',
      '  --writers N          transfer connections per source (default 2)',
      '  --ddl-every S        ADD COLUMN / ADD INDEX on the side table every S seconds (default 10; 0 = none)',
      '  --ddl-during-load    run the DDL loop during the full phase too (docs/chaos.md)',
      '  --ttl S              keepalive-ttl of masters and workers (default 3)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const num = (k: keyof typeof values): number => {
  const v = Number(values[k]);
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`--${k}: not a number: ${String(values[k])}\n`);
    process.exit(2);
  }
  return v;
};
const faults = String(values.faults)
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean);
const bad = faults.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
if (bad.length > 0 || faults.length === 0) {
  process.stderr.write(
    `--faults: unknown ${bad.join(', ') || '(empty)'}; allowed: ${FAULT_KINDS.join(', ')}\n`,
  );
  process.exit(2);
}

const t0 = Date.now();
const report = await runChaos({
  rounds: num('rounds'),
  seconds: num('seconds'),
  faults: faults as FaultKind[],
  loadKill: !values['no-load-kill'],
  targetDownMs: num('target-down') * 1000,
  leaderStopMs: num('leader-stop') * 1000,
  workerDownMs: num('worker-down') * 1000,
  settleMs: num('settle') * 1000,
  humanAfterMs: num('human-after') * 1000,
  recoverTimeoutMs: num('recover-timeout') * 1000,
  bulkRows: num('bulk-rows'),
  writers: num('writers'),
  ddlEveryMs: num('ddl-every') * 1000,
  ddlDuringLoad: values['ddl-during-load'],
  ttl: num('ttl'),
  log: (line) => process.stdout.write(`${line}\n`),
});
process.stdout.write(
  `\n${formatReport(report)}\n(total wall time ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
);
process.exit(failures(report).length === 0 ? 0 : 1);
