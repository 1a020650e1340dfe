/**
 * dmctl's replies against DM's: every key DM prints (test/fixtures/dm-replies) is printed by
 * DM.ts with the same value, type and nesting; DM.ts's own detail only in added keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ROOT } from '../helpers/paths.js';
import { dmCheckMessage, dmCheckResult, dmError, dmListMember, dmQueryStatus, dmReply, dmTaskList } from '../../src/ctl/dm-json.js';
import { formatReply } from '../../src/ctl/output.js';
import * as CommonPb from '../../src/gen/dm/common/v1/common_pb.js';
import * as MasterPb from '../../src/gen/dm/master/v1/master_pb.js';
import { DMError, rawCauseOf } from '../../src/errors/index.js';
import { toProcessError } from '../../src/rpc/errors.js';

const S = CommonPb.Stage;
const U = CommonPb.UnitType;

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/dm-replies', name), 'utf8')) as Record<string, unknown>;
}

/** `ours` cut down to the keys DM's reply has (arrays element by element). */
function project(ours: unknown, dm: unknown, path = '$'): unknown {
  if (Array.isArray(dm)) {
    assert.ok(Array.isArray(ours), `${path}: DM prints an array, DM.ts ${JSON.stringify(ours)}`);
    return ours.map((x, i) => (i < dm.length ? project(x, dm[i], `${path}[${i}]`) : x));
  }
  if (dm !== null && typeof dm === 'object') {
    assert.ok(ours !== null && typeof ours === 'object' && !Array.isArray(ours), `${path}: DM prints an object, DM.ts ${JSON.stringify(ours)}`);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(dm)) {
      assert.ok(k in ours, `${path}.${k}: DM's key is missing`);
      out[k] = project((ours as Record<string, unknown>)[k], (dm as Record<string, unknown>)[k], `${path}.${k}`);
    }
    return out;
  }
  return ours;
}

/** As printed: through the same JSON text dmctl writes. */
function printed(o: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(formatReply(o)) as Record<string, unknown>;
}

function assertDmShape(ours: Record<string, unknown>, file: string): void {
  const dm = fixture(file);
  const p = printed(ours);
  assert.deepEqual(project(p, dm), dm, file);
  // DM's key order first (jq users do not care, people reading replies do)
  assert.deepEqual(Object.keys(p).filter((k) => k in dm), Object.keys(dm), `${file}: key order`);
}

const loc = (name: string, pos: number, gtidSet = '') => ({ name, pos, gtidSet });

function sourceStatus(source: string, worker: string, sub: Parameters<typeof create<typeof CommonPb.SubTaskStatusSchema>>[1]) {
  return {
    result: true,
    msg: '',
    sourceStatus: { source, worker },
    subTaskStatus: [{ name: 'test', source, worker, ...sub }],
  };
}

const QUERY_STATUS = create(MasterPb.QueryStatusResponseSchema, {
  result: true,
  sources: [
    sourceStatus('mysql-replica-01', 'worker1', {
      stage: S.RUNNING,
      unit: U.SYNC,
      result: { errors: [] },
      masterBinlog: loc('mysql-bin.000001', 3234, 'c0149e17-dff1-11e8-b6a8-0242ac110004:1-14'),
      syncedBinlog: loc('mysql-bin.000001', 2525),
      lagSeconds: 0.2,
      synced: false,
      detail: { units: [{ type: 'Sync', status: { totalEvents: 12, eventsPerSec: 1, totalRows: 12, rowsPerSec: 1 } }] },
    }),
    sourceStatus('mysql-replica-02', 'worker2', {
      stage: S.RUNNING,
      unit: U.LOAD,
      rowsDone: 10n,
      rowsTotal: 40n,
      progress: 0.25,
      detail: {
        units: [
          { type: 'Dump', status: { totalTables: 1 } },
          {
            type: 'Load',
            status: { totalBytes: 115, estimatedBytes: 452, progress: '25.44 %', bytesPerSecond: 2734, snapshot: { startPos: { file: 'mysql-bin.000002', offset: 154, gtid: '' } } },
          },
        ],
      },
    }),
    sourceStatus('mysql-replica-03', 'worker3', {
      stage: S.PAUSED,
      unit: U.SYNC,
      result: {
        errors: [
          {
            code: 36027,
            class: 'sync-unit',
            scope: 'internal',
            level: 'high',
            message:
              "startLocation: [position: (mysql-bin.000001, 3130)], endLocation: [position: (mysql-bin.000001, 3300)]: gen insert sqls failed, schema: test, table: t1: Duplicate entry '1' for key 'PRIMARY'",
            rawCause: "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'",
            workaround: '',
          },
        ],
      },
      masterBinlog: loc('mysql-bin.000001', 3300),
      syncedBinlog: loc('mysql-bin.000001', 3130),
      lagSeconds: 12.4,
      detail: { units: [{ type: 'Sync', status: { totalEvents: 3, eventsPerSec: 0, totalRows: 3, rowsPerSec: 0 } }] },
    }),
    sourceStatus('mysql-replica-04', 'worker4', {
      stage: S.RUNNING,
      unit: U.DUMP,
      detail: {
        units: [
          {
            type: 'Dump',
            status: {
              totalTables: 10,
              totalBytes: 2542,
              totalRows: 32,
              estimatedRows: 563,
              bytesPerSecond: 445,
              progress: '30.52 %',
              tables: [
                ...Array.from({ length: 3 }, (_, i) => ({ table: `t${i}`, chunksTotal: 2, chunksDone: 2 })),
                ...Array.from({ length: 7 }, (_, i) => ({ table: `u${i}`, chunksTotal: 2, chunksDone: 1 })),
              ],
            },
          },
        ],
      },
    }),
  ],
});

void test('query-status <task>: DM subtask objects (sync, load, dump), "(file, pos)", int64 as strings, errors as DM', () => {
  const out = dmQueryStatus(QUERY_STATUS);
  assertDmShape(out, 'query-status-task.json');
  const sub = ((out['sources'] as Record<string, unknown>[])[0]?.['subTaskStatus'] as Record<string, unknown>[])[0] ?? {};
  // DM.ts's detail stays, under added keys
  assert.equal(sub['source'], 'mysql-replica-01');
  assert.equal(sub['worker'], 'worker1');
  assert.equal(sub['lagSeconds'], 0.2);
  assert.ok(sub['detail'] !== null && typeof sub['detail'] === 'object');
  const load = ((out['sources'] as Record<string, unknown>[])[1]?.['subTaskStatus'] as Record<string, unknown>[])[0] ?? {};
  assert.equal(load['rowsDone'], '10');
  assert.equal(load['progressRatio'], 0.25);
  assert.ok(!('sync' in load) && !('dump' in load), 'only the current unit has its object, as in DM');
});

void test('query-status <task>: relayStatus is null without relay, DM\'s RelayStatus with it', () => {
  const resp = create(MasterPb.QueryStatusResponseSchema, {
    result: true,
    sources: [
      {
        result: true,
        sourceStatus: {
          source: 'mysql-replica-01',
          worker: 'worker1',
          relayStatus: {
            masterBinlog: loc('mysql-bin.000001', 1979, 'e9a1fc22-ec08-11e9-b2ac-0242ac110003:1-7849'),
            relayBinlog: loc('mysql-bin.000001', 1979, 'e9a1fc22-ec08-11e9-b2ac-0242ac110003:1-7849'),
            relaySubDir: 'e9a1fc22-ec08-11e9-b2ac-0242ac110003.000001',
            relayCatchUpMaster: true,
            stage: S.RUNNING,
          },
        },
      },
    ],
  });
  assertDmShape(dmQueryStatus(resp), 'query-status-relay.json');
  const noRelay = dmQueryStatus(QUERY_STATUS);
  const ss = (noRelay['sources'] as { sourceStatus: Record<string, unknown> }[])[0]?.sourceStatus;
  assert.equal(ss?.['relayStatus'], null);
});

void test('query-status without a task: DM\'s tasks list', () => {
  const resp = create(MasterPb.QueryStatusResponseSchema, {
    result: true,
    sources: [
      { result: true, sourceStatus: { source: 'mysql-replica-01' }, subTaskStatus: [{ name: 'test', source: 'mysql-replica-01', stage: S.RUNNING }, { name: 'test2', source: 'mysql-replica-01', stage: S.PAUSED, result: { errors: [{ code: 36027 }] } }] },
      { result: true, sourceStatus: { source: 'mysql-replica-02' }, subTaskStatus: [{ name: 'test', source: 'mysql-replica-02', stage: S.RUNNING }] },
    ],
  });
  assertDmShape(dmTaskList(resp), 'query-status.json');
});

void test('list-member: memberID, peerURLs, clientURLs, addr, worker stages as DM', () => {
  const resp = create(MasterPb.ListMemberResponseSchema, {
    result: true,
    leader: { name: 'master1', address: '127.0.0.1:8261' },
    masters: [{ name: 'master1', memberId: '11007177379717700053', alive: true, isLeader: true, peerUrls: ['http://127.0.0.1:8291'], clientUrls: ['http://127.0.0.1:8261'], address: '127.0.0.1:8261' }],
    workers: [
      { name: 'worker1', address: '127.0.0.1:8262', stage: MasterPb.WorkerStage.BOUND, source: 'mysql-replica-01' },
      { name: 'worker2', address: '127.0.0.1:8263', stage: MasterPb.WorkerStage.FREE },
    ],
  });
  const out = dmListMember(resp, { leader: true, master: true, worker: true });
  assertDmShape(out, 'list-member.json');
  const text = formatReply(out);
  assert.doesNotMatch(text, /"memberId"|"peerUrls"|"clientUrls"|"address"/, 'none of the old names');
  const onlyWorkers = dmListMember(resp, { leader: false, master: false, worker: true });
  assert.deepEqual(Object.keys((onlyWorkers['members'] as Record<string, unknown>[])[0] ?? {}), ['worker']);
});

void test('stop-task, start-task, operate-source, transfer-source, binlog-schema: DM\'s reply shapes', () => {
  const src = [{ result: true, msg: '', source: 'mysql-replica-01', worker: 'worker1' }];
  assertDmShape(dmReply(MasterPb.OperateTaskResponseSchema, create(MasterPb.OperateTaskResponseSchema, { op: MasterPb.TaskOp.STOP, result: true, sources: src })), 'stop-task.json');
  assertDmShape(dmReply(MasterPb.StartTaskResponseSchema, create(MasterPb.StartTaskResponseSchema, { result: true, sources: src })), 'start-task.json');
  assertDmShape(dmReply(MasterPb.OperateSourceResponseSchema, create(MasterPb.OperateSourceResponseSchema, { result: true, sources: src })), 'operate-source-create.json');
  assertDmShape(dmReply(MasterPb.TransferSourceResponseSchema, create(MasterPb.TransferSourceResponseSchema, { result: true })), 'transfer-source.json');
  const schema = 'CREATE TABLE `t1` ( `c1` int(11) DEFAULT NULL, `c2` int(11) DEFAULT NULL)';
  assertDmShape(
    dmReply(MasterPb.OperateBinlogSchemaResponseSchema, create(MasterPb.OperateBinlogSchemaResponseSchema, { result: true, sources: [{ ...src[0], msg: schema }] })),
    'binlog-schema-list.json',
  );
});

void test('errors: DM\'s ErrCode..Workaround, RawCause from the MySQL error, Message without it', () => {
  const mysqlErr = Object.assign(new Error("Duplicate entry '1' for key 'PRIMARY'"), { errno: 1062, sqlState: '23000', code: 'ER_DUP_ENTRY' });
  const e = new DMError('ErrInternal', 'gen insert sqls failed', { cause: mysqlErr });
  assert.equal(rawCauseOf(e), "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'");
  const j = e.toJSON();
  assert.equal(j.rawCause, "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'");
  // the unit's error JSON (message with the cause appended) as printed
  const fromUnit = dmError(j);
  assert.equal(fromUnit['Message'], 'gen insert sqls failed');
  assert.equal(fromUnit['RawCause'], "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'");
  assert.deepEqual(Object.keys(fromUnit).slice(0, 7), ['ErrCode', 'ErrClass', 'ErrScope', 'ErrLevel', 'Message', 'RawCause', 'Workaround']);
  // the RPC edge's ProcessError (message without the cause) prints the same
  const fromRpc = dmError(toProcessError(e));
  assert.equal(fromRpc['Message'], 'gen insert sqls failed');
  assert.equal(fromRpc['RawCause'], "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'");
  // a DMError wrapping a DMError: the inner one's raw cause
  assert.equal(rawCauseOf(new DMError('ErrInternal', 'outer', { cause: e })), "Error 1062 (23000): Duplicate entry '1' for key 'PRIMARY'");
  assert.equal(rawCauseOf(new DMError('ErrInternal', 'no cause')), '');
  // an error nested anywhere in a reply (e.g. a validator's result) is converted too
  const v = create(MasterPb.QueryValidationStatusResponseSchema, {
    result: true,
    validators: [{ task: 't', stage: S.PAUSED, result: { errors: [toProcessError(e)] } }, { task: 't2', stage: S.RUNNING, result: { errors: [] } }],
  });
  const out = printed(dmReply(MasterPb.QueryValidationStatusResponseSchema, v));
  const vals = out['validators'] as { result: { errors: Record<string, unknown>[] } | null }[];
  assert.equal(vals[0]?.result?.errors[0]?.['ErrCode'], e.code);
  assert.equal(vals[1]?.result, null, 'an empty result prints as null, as DM');
  assert.doesNotMatch(JSON.stringify(out), /"code"|"rawCause"/);
});

void test('a subtask with no error prints result null and an unknown unit as InvalidUnit', () => {
  const out = dmQueryStatus(create(MasterPb.QueryStatusResponseSchema, { result: true, sources: [sourceStatus('s', 'w', { stage: S.NEW })] }));
  const sub = ((out['sources'] as Record<string, unknown>[])[0]?.['subTaskStatus'] as Record<string, unknown>[])[0] ?? {};
  assert.equal(sub['result'], null);
  assert.equal(sub['unit'], 'InvalidUnit');
  assert.equal(sub['stage'], 'New');
});

void test('check-task: every report item carries DM\'s checker keys, DM.ts\'s stay', () => {
  const out = dmCheckResult({
    summary: { passed: false, total: 2, successful: 1, failed: 1, warning: 0 },
    results: [
      { name: 'binlog_format', state: 'fail', sourceId: 'mysql-replica-01', message: 'binlog_format is STATEMENT', instruction: 'set binlog_format=ROW' },
      { name: 'version', state: 'pass', sourceId: 'mysql-replica-01', message: '', instruction: '' },
    ],
  }) as { results: Record<string, unknown>[] };
  assert.deepEqual(out.results[0], {
    id: 0,
    name: 'binlog_format',
    desc: 'binlog_format',
    state: 'fail',
    errors: [{ severity: 'fail', short_error: 'binlog_format is STATEMENT' }],
    instruction: 'set binlog_format=ROW',
    extra: 'mysql-replica-01',
    sourceId: 'mysql-replica-01',
    message: 'binlog_format is STATEMENT',
  });
  assert.deepEqual(out.results[1]?.['errors'], []);
});

void test("shard-ddl-lock: DM's lock keys; DM.ts's `error` only on a lock in error", () => {
  const lock = { id: 'test-`db`.`t`', task: 'test', mode: 'optimistic', owner: '', ddls: [], synced: ['s1-`db_1`.`t`'], unsynced: ['s2-`db_2`.`t`'] };
  const r = (error: string) =>
    printed(dmReply(MasterPb.ShowDDLLocksResponseSchema, create(MasterPb.ShowDDLLocksResponseSchema, { result: true, locks: [{ ...lock, error }] })));
  const dm = { ID: lock.id, task: 'test', mode: 'optimistic', owner: '', DDLs: [], synced: lock.synced, unsynced: lock.unsynced };
  assert.deepEqual(r(''), { result: true, msg: '', locks: [dm] });
  assert.deepEqual(r('[code=38104] conflict'), { result: true, msg: '', locks: [{ ...dm, error: '[code=38104] conflict' }] });
});

/** DM's check-task msg split into its text and the report after `detail: ` (undefined when none). */
function checkMsgParts(msg: string): { head: string; detail?: Record<string, unknown>; layout?: string[] } {
  const i = msg.indexOf('\n detail: ');
  if (i < 0) return { head: msg };
  const text = msg.slice(i + '\n detail: '.length);
  // the layout: each line's leading tabs (Go's MarshalIndent with prefix and indent "\t")
  const layout = text.split('\n').map((l) => /^\t*/.exec(l)?.[0] ?? '');
  return { head: msg.slice(0, i), detail: JSON.parse(text) as Record<string, unknown>, layout };
}

/** The key paths of a JSON value, in order (arrays by their first element). */
function keyPaths(v: unknown, p = ''): string[] {
  if (Array.isArray(v)) return v.length > 0 ? keyPaths(v[0], `${p}[]`) : [`${p}[]`];
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${p}.${k}`, ...keyPaths(x, `${p}.${k}`)]);
  return [];
}

void test("check-task: msg is DM's text (passed / warnings / 26005 with the report after `detail:` in DM's layout and keys)", () => {
  const item = (state: string, name: string, message: string) => ({ id: 0, name, desc: `check ${name}`, state, sourceId: 'mysql-replica-01', message, instruction: 'do this <now> & then' });
  const fail = { summary: { passed: false, total: 8, successful: 7, failed: 1, warning: 0 }, results: [item('fail', 'binlog_format', 'binlog_format is STATEMENT')] };
  const warn = { summary: { passed: true, total: 8, successful: 7, failed: 0, warning: 1 }, results: [item('warn', 'table_schema', 'no primary key')] };
  const pass = { summary: { passed: true, total: 8, successful: 8, failed: 0, warning: 0 }, results: [] };
  for (const [report, file] of [
    [fail, 'check-task-fail.json'],
    [warn, 'check-task-warn.json'],
    [pass, 'check-task-pass.json'],
  ] as const) {
    const dm = checkMsgParts(String(fixture(file)['msg']));
    const ours = checkMsgParts(dmCheckMessage(report));
    assert.equal(ours.head, dm.head, file);
    assert.equal(ours.detail === undefined, dm.detail === undefined, `${file}: a detail exactly when DM has one`);
    if (dm.detail && ours.detail) {
      assert.deepEqual(keyPaths(ours.detail), keyPaths(dm.detail), `${file}: DM's keys only, in DM's order`);
      assert.deepEqual(ours.layout, dm.layout, `${file}: DM's indentation`);
      const it = (ours.detail['results'] as Record<string, unknown>[])[0] ?? {};
      assert.equal(it['extra'], 'mysql-replica-01');
      assert.deepEqual(it['errors'], [{ severity: report.results[0]?.state, short_error: report.results[0]?.message }]);
      assert.deepEqual(ours.detail['summary'], report.summary);
    }
  }
  assert.equal(dmCheckMessage({ summary: { passed: true, total: 0, successful: 0, failed: 0, warning: 0 }, results: [] }), '', 'nothing checked: DM answers an empty text');
  // Go's encoder escapes <, > and & in the text
  assert.ok(dmCheckMessage(warn).includes('do this \\u003cnow\\u003e \\u0026 then'));
  // the report as an object stays in checkResult, DM's items first
  const printed = dmCheckResult(fail) as Record<string, unknown>;
  assert.deepEqual(Object.keys(printed), ['results', 'summary']);
});

void test('query-status <task>: binlogType says what the running reader reads (a run that fell back to the network is remote), else whether the relay runs', () => {
  const withRelay = (readsRelay: boolean | undefined) => {
    const st = sourceStatus('mysql-replica-01', 'worker1', {
      stage: S.RUNNING,
      unit: U.SYNC,
      detail: { units: [{ type: 'Sync', status: { totalEvents: 1, ...(readsRelay === undefined ? {} : { readsRelay }) } }] },
    });
    const resp = create(MasterPb.QueryStatusResponseSchema, {
      result: true,
      sources: [{ ...st, sourceStatus: { ...st.sourceStatus, relayStatus: { relaySubDir: '0-1.000001', stage: S.RUNNING } } }],
    });
    const out = dmQueryStatus(resp);
    const sub = ((out['sources'] as Record<string, unknown>[])[0]?.['subTaskStatus'] as Record<string, unknown>[])[0] ?? {};
    return (sub['sync'] as Record<string, unknown>)['binlogType'];
  };
  assert.equal(withRelay(true), 'local');
  assert.equal(withRelay(false), 'remote');
  assert.equal(withRelay(undefined), 'local', 'no running reader: the relay runs');
});
