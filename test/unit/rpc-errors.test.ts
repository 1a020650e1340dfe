// The error mapping at the RPC edge, without sockets: a DMError survives the trip to a
// ConnectError and back with its code, and generic Connect failures get RPC codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, ConnectError } from '@connectrpc/connect';
import { DMError } from '../../src/errors/index.js';
import {
  codeLabel,
  connectCodeOf,
  fromConnectError,
  toBaseUrl,
  toConnectError,
} from '../../src/rpc/index.js';

void test('a DMError becomes a ConnectError with a DM-style message and comes back with its code', () => {
  const orig = new DMError('ErrEtcdUnavailable', 'etcd down', {
    cause: new Error('ECONNREFUSED 127.0.0.1:2379'),
  });
  const ce = toConnectError(orig);
  assert.equal(ce.code, Code.Unavailable);
  assert.equal(ce.metadata.get('dm-error-code'), '48001');
  assert.match(
    ce.rawMessage,
    /^\[code=48001:class=ha:scope=internal:level=high\], Message: etcd down: ECONNREFUSED.*Workaround: Check that a majority/,
  );
  const back = fromConnectError(ce);
  assert.equal(back.codeName, 'ErrEtcdUnavailable');
  assert.equal(back.retryable, true);
  assert.equal(back.message, 'etcd down');
  assert.equal((back.cause as Error).message, 'ECONNREFUSED 127.0.0.1:2379');
});

void test('connect codes follow the DM code: config → InvalidArgument, retryable → Unavailable, not implemented → Unimplemented', () => {
  assert.equal(connectCodeOf(new DMError('ErrConfigInvalidValue', 'x')), Code.InvalidArgument);
  assert.equal(connectCodeOf(new DMError('ErrMasterNotLeader', 'x')), Code.Unavailable);
  assert.equal(connectCodeOf(new DMError('ErrNotImplemented', 'x')), Code.Unimplemented);
  assert.equal(connectCodeOf(new DMError('ErrInternal', 'x')), Code.Internal);
  assert.equal(connectCodeOf(new DMError('ErrBinlogPurged', 'x')), Code.FailedPrecondition);
});

void test('errors without a DM code get an RPC code decided by the Connect code, never by the text', () => {
  const unavailable = fromConnectError(new ConnectError('connect ECONNREFUSED', Code.Unavailable));
  assert.equal(unavailable.codeName, 'ErrRpcUnavailable');
  assert.equal(unavailable.retryable, true);
  // Text that mentions "unavailable" does not make an Internal error retryable.
  const internal = fromConnectError(new ConnectError('service unavailable, retry', Code.Internal));
  assert.equal(internal.codeName, 'ErrRpcFailed');
  assert.equal(internal.retryable, false);
  assert.equal(fromConnectError(new ConnectError('x', Code.DeadlineExceeded)).codeName, 'ErrTimeout');
  assert.equal(fromConnectError(new ConnectError('x', Code.Unimplemented)).codeName, 'ErrNotImplemented');
  // Plain errors pass through toConnectError as Internal; AbortError as Canceled.
  assert.equal(toConnectError(new TypeError('bug')).code, Code.Internal);
  const abort = new AbortController();
  abort.abort();
  assert.equal(toConnectError(abort.signal.reason).code, Code.Canceled);
});

void test('codeLabel and toBaseUrl', () => {
  assert.equal(codeLabel(undefined), 'ok');
  assert.equal(codeLabel(Code.DeadlineExceeded), 'deadline_exceeded');
  assert.equal(codeLabel(Code.Unavailable), 'unavailable');
  assert.equal(toBaseUrl('127.0.0.1:8261'), 'http://127.0.0.1:8261');
  assert.equal(toBaseUrl('127.0.0.1:8261', true), 'https://127.0.0.1:8261');
  assert.equal(toBaseUrl('https://m1:8261/'), 'https://m1:8261');
});
