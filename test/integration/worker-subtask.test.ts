import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/index.js';
import { DMError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { canceledResult, errorResult, okResult, type ProcessResult, type Unit, type UnitType } from '../../src/units/index.js';
import { Subtask, WorkerMetrics, type SubtaskPipelineContext } from '../../src/worker/index.js';

/** A scripted unit: each process()/resume() call takes the next step; 'wait' runs until paused. */
class ScriptedUnit implements Unit {
  calls = 0;
  closed = false;
  seenDetail: Record<string, unknown> | undefined;
  private stop: (() => void) | undefined;
  constructor(
    readonly type: UnitType,
    private readonly steps: ('ok' | 'wait' | 'retryable' | 'fatal')[],
    private readonly ctx: SubtaskPipelineContext,
    private readonly detail?: Record<string, unknown>,
  ) {}
  async init(): Promise<void> {}
  async process(signal: AbortSignal): Promise<ProcessResult> {
    this.seenDetail = { ...this.ctx.detail };
    const step = this.steps[Math.min(this.calls, this.steps.length - 1)];
    this.calls++;
    if (step === 'ok') return okResult(this.detail);
    if (step === 'retryable') return errorResult(new DMError('ErrDBBadConn', 'connection lost').toJSON());
    if (step === 'fatal') return errorResult(new DMError('ErrBinlogPurged', 'purged').toJSON());
    await new Promise<void>((res) => {
      this.stop = res;
      signal.addEventListener('abort', () => res(), { once: true });
    });
    return canceledResult();
  }
  pause(): void {
    this.stop?.();
  }
  resume(signal: AbortSignal): Promise<ProcessResult> {
    return this.process(signal);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  status(): Record<string, unknown> {
    return { calls: this.calls };
  }
}

function subtask(factory: (ctx: SubtaskPipelineContext) => Unit[]): Subtask {
  return new Subtask({
    input: { taskName: 't', sourceId: 's', taskYaml: '', sourceYaml: '' },
    logger: silentLogger,
    registry: createRegistry(),
    workerName: 'w',
    minBackoffMs: 20,
    maxBackoffMs: 40,
    unitsFactory: (_i, ctx) => factory(ctx),
  });
}

test('subtask: units run in order, detail handed on, retryable error auto-resumed, user pause kept, stop closes units', async () => {
  let a: ScriptedUnit | undefined;
  let b: ScriptedUnit | undefined;
  const st = subtask((ctx) => {
    a = new ScriptedUnit('Dump', ['ok'], ctx, { startPos: 'mysql-bin.000001:4' });
    b = new ScriptedUnit('Sync', ['retryable', 'wait'], ctx);
    return [a, b];
  });
  st.start('Running');
  // b fails once with a retryable error, the task checker resumes it, then it runs.
  await waitFor('auto-resumed and running', async () => st.status().autoResumes === 1 && st.stageName === 'Running' && b?.calls === 2);
  assert.equal(b?.seenDetail?.['startPos'], 'mysql-bin.000001:4');
  assert.equal(st.status().unit, 'Sync');
  await st.pause();
  assert.equal(st.stageName, 'Paused');
  assert.equal(st.status().pausedBy, 'user');
  // Longer than the max backoff: a user pause is never auto-resumed.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(st.stageName, 'Paused');
  await st.resume();
  assert.equal(st.stageName, 'Running');
  await st.stop();
  assert.equal(st.stageName, 'Stopped');
  assert.equal(a?.closed && b?.closed, true);
});

test('subtask: a non-retryable error pauses with the error shown and is not auto-resumed', async () => {
  const st = subtask((ctx) => [new ScriptedUnit('Sync', ['fatal'], ctx)]);
  st.start('Running');
  await waitFor('paused by error', async () => st.stageName === 'Paused');
  await new Promise((r) => setTimeout(r, 150));
  const s = st.status();
  assert.equal(s.stage, 'Paused');
  assert.equal(s.pausedBy, 'error');
  assert.equal(s.autoResumes, 0);
  assert.equal(s.errors[0]?.code, 22002);
  assert.ok(s.errors[0]?.workaround);
  await st.stop();
});

test('subtask: all units done → Finished; started Paused → waits for resume', async () => {
  const st = subtask((ctx) => [new ScriptedUnit('Dump', ['ok'], ctx), new ScriptedUnit('Load', ['ok'], ctx)]);
  st.start('Paused');
  assert.equal(st.stageName, 'Paused');
  await st.resume();
  await waitFor('finished', async () => st.stageName === 'Finished');
  await st.stop();
});

test("subtask: unit exits with error count in DM's *_exit_with_error_count, by unit and resumable_err", async () => {
  const registry = createRegistry();
  const metrics = new WorkerMetrics(registry, 'w');
  const st = new Subtask({
    input: { taskName: 't', sourceId: 's', taskYaml: '', sourceYaml: '' },
    logger: silentLogger,
    registry,
    workerName: 'w',
    minBackoffMs: 20,
    maxBackoffMs: 40,
    unitsFactory: (_i, ctx) => [new ScriptedUnit('Dump', ['ok'], ctx), new ScriptedUnit('Sync', ['retryable', 'fatal'], ctx)],
    // as the converger wires it
    onStage: (stage) => metrics.setStage('t', 's', stage),
    onUnitError: (unit, errors) => metrics.unitExited('t', 's', unit, errors.every((e) => e.retryable)),
  });
  st.start('Running');
  await waitFor('paused by the fatal error', async () => st.stageName === 'Paused' && st.status().autoResumes === 1);
  const text = await registry.metrics();
  const value = (name: string, resumable: string): string | undefined =>
    new RegExp(`^${name}\\{task="t",source_id="s",resumable_err="${resumable}"\\} (\\d+)$`, 'm').exec(text)?.[1];
  assert.equal(value('dm_syncer_exit_with_error_count', 'true'), '1');
  assert.equal(value('dm_syncer_exit_with_error_count', 'false'), '1');
  // the other units' counters exist from the start at 0 (so increase() sees a first error)
  for (const name of ['dm_loader_exit_with_error_count', 'dm_dumpling_exit_with_error_count', 'dm_mydumper_exit_with_error_count'])
    for (const r of ['true', 'false']) assert.equal(value(name, r), '0', `${name} ${r}`);
  assert.match(text, /dm_worker_task_state\{task="t",source_id="s",worker="w"\} 3/);
  await st.stop();
  metrics.forget('t', 's');
  assert.doesNotMatch(await registry.metrics(), /exit_with_error_count\{task="t"/);
});
