import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { OperateBinlogSchemaRequestSchema } from '../../src/gen/dm/master/v1/master_pb.js';
import { SchemaOp } from '../../src/gen/dm/common/v1/common_pb.js';
import { checkBinlogSchemaRequest } from '../../src/master/handlers/binlog-schema.js';
import { DeferredSyncUnit } from '../../src/units/sync/deferred-sync-unit.js';
import { DMError } from '../../src/errors/index.js';

void test('binlog-schema update --sync (dmctl\'s default) passes the master: DM ignores it outside optimistic shard mode', () => {
  const req = create(OperateBinlogSchemaRequestSchema, { op: SchemaOp.SET, task: 't', sources: ['s1'], database: 'db', table: 'tb', fromSource: true, sync: true });
  assert.doesNotThrow(() => checkBinlogSchemaRequest(req));
});

void test('binlog-schema update --sync on an optimistic shard subtask is refused with 38108 (not accepted and ignored)', async () => {
  const unit = new DeferredSyncUnit({
    flavor: () => Promise.resolve('mariadb'),
    config: () => Promise.reject(new Error('not built here')),
    schemaOps: () => {
      throw new Error('the refusal comes before any schema operation');
    },
    deps: {},
  });
  // the running sync unit of an optimistic shard task (only its shard mode is read)
  (unit as unknown as { inner: { shardMode: string; liveSchemas: () => string } }).inner = { shardMode: 'optimistic', liveSchemas: () => '' };
  await assert.rejects(
    unit.operateSchema({ op: 'set', database: 'db', table: 'tb', fromSource: true, sync: true }),
    (e: unknown) => e instanceof DMError && e.code === 38108 && /--sync=false/.test(e.message) && /shard-ddl-lock unlock/.test(e.workaround),
  );
  // --sync=false goes on to the schema operation
  await assert.rejects(unit.operateSchema({ op: 'set', database: 'db', table: 'tb', fromSource: true }), /the refusal comes before/);
});
