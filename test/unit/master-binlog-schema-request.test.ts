import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { OperateBinlogSchemaRequestSchema } from '../../src/gen/dm/master/v1/master_pb.js';
import { SchemaOp } from '../../src/gen/dm/common/v1/common_pb.js';
import { checkBinlogSchemaRequest } from '../../src/master/handlers/binlog-schema.js';
import { DMError } from '../../src/errors/index.js';

const req = (o: Partial<{ sync: boolean; fromSource: boolean; schema: string }>) =>
  create(OperateBinlogSchemaRequestSchema, { op: SchemaOp.SET, task: 't', sources: ['s1'], database: 'db', table: 'tb', ...o });

void test('binlog-schema update --sync is refused with 38108 (not accepted and ignored); without it the request passes', () => {
  let err: unknown;
  try {
    checkBinlogSchemaRequest(req({ sync: true, fromSource: true }));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DMError);
  assert.equal(err.code, 38108);
  assert.match(err.workaround, /shard-ddl-lock unlock/);
  assert.doesNotThrow(() => checkBinlogSchemaRequest(req({ fromSource: true })));
});
