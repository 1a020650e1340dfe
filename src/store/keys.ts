/**
 * Every etcd key DM.ts uses, under one cluster prefix (default `/dm/`). DESIGN.md §2.
 * Values are UTF-8 text: JSON records unless noted. Each key says who writes and who reads it.
 */
export const DEFAULT_KEY_PREFIX = '/dm/';

export class Keys {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_KEY_PREFIX) {
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /**
   * Election namespace: etcd3's election puts `<this>election/leader/<leaseId>` keys under it.
   * Writer: every dm-master (campaign, under its election lease). Readers: every master
   * (observe → current leader), fencing compares. Value: JSON {@link LeaderInfo}.
   */
  electionNamespace(): string {
    return `${this.prefix}master/`;
  }
  /** Election name inside {@link electionNamespace}. */
  static readonly ELECTION_NAME = 'leader';

  /**
   * `master/evicted/<name>`: writer: that master (operate-leader evict / cancel-evict);
   * readers: that master at start. Value: JSON {evicted: true}.
   */
  masterEvicted(name = ''): string {
    return `${this.prefix}master/evicted/${name}`;
  }

  /**
   * `master/info/<name>`: writer: each master at start; readers: list-member, offline-member.
   * Value: JSON {@link MasterInfo}.
   */
  masterInfo(name = ''): string {
    return `${this.prefix}master/info/${name}`;
  }

  /**
   * `master/alive/<name>`: writer: that master, under a lease (keepalive-ttl); readers:
   * list-member (alive flag), offline-member (refuses a live master). Value: JSON {@link MasterInfo}.
   */
  masterAlive(name = ''): string {
    return `${this.prefix}master/alive/${name}`;
  }

  /**
   * `worker/info/<worker>`: writer: leader on RegisterWorker (name, address); readers: scheduler,
   * list-member, query-status. Value: JSON {@link WorkerInfo}.
   */
  workerInfo(name = ''): string {
    return `${this.prefix}worker/info/${name}`;
  }

  /**
   * `worker/alive/<worker>`: writer: the worker itself, under its keepalive lease (TTL
   * keepalive-ttl); readers: scheduler (lease expiry = worker gone). Value: JSON {@link WorkerAlive}.
   */
  workerAlive(name = ''): string {
    return `${this.prefix}worker/alive/${name}`;
  }

  /**
   * `source/config/<source>`: writer: leader (operate-source create/update/stop); readers: worker
   * bound to the source, get-config, operate-source show. Value: source.yaml text, password encrypted.
   */
  sourceConfig(source = ''): string {
    return `${this.prefix}source/config/${source}`;
  }

  /**
   * `source/bound/<worker>`: writer: leader (scheduler, transfer-source; created fresh on every
   * bind, so its mod revision names one binding); readers: that worker (watch; its shard DDL
   * writes compare the mod revision its subtasks started under, src/worker/shardddl-client.ts),
   * list-member, query-status. Value: JSON {@link SourceBound}.
   */
  sourceBound(worker = ''): string {
    return `${this.prefix}source/bound/${worker}`;
  }

  /**
   * `source/last-bound/<source>`: writer: leader (scheduler, on every bind); readers: scheduler
   * (prefers the worker a source was last bound to). Value: JSON {@link SourceBound}.
   */
  sourceLastBound(source = ''): string {
    return `${this.prefix}source/last-bound/${source}`;
  }

  /**
   * `source/relay-stage/<source>`: writer: leader (start-relay / pause-relay / resume-relay /
   * stop-relay; deleted with the source); readers: the worker bound to <source> (its relay
   * holder: absent = follow the source config's `enable-relay`). Value: JSON {@link RelayStageRecord}.
   */
  sourceRelayStage(source = ''): string {
    return `${this.prefix}source/relay-stage/${source}`;
  }

  /**
   * `task/config/<task>`: writer: leader (start-task / stop-task); readers: get-config,
   * query-status, the scheduler's task list. Value: the task.yaml text as submitted.
   */
  taskConfig(task = ''): string {
    return `${this.prefix}task/config/${task}`;
  }

  /**
   * `task/template/<name>`: writer: any master (OpenAPI `/api/v1/tasks/templates`); readers: the
   * OpenAPI, GetConfig (`config task-template`). Value: a task.yaml text that is not started,
   * its target password encrypted with the cluster's key.
   */
  taskTemplate(name = ''): string {
    return `${this.prefix}task/template/${name}`;
  }

  /**
   * `task/subtask/<source>/<task>`: writer: leader (start-task / stop-task, one txn with the stage);
   * readers: the worker bound to <source>. Value: JSON {@link SubtaskRecord}.
   */
  subtask(source = '', task?: string): string {
    return task === undefined ? `${this.prefix}task/subtask/${source}${source ? '/' : ''}` : `${this.prefix}task/subtask/${source}/${task}`;
  }

  /**
   * `task/stage/<source>/<task>`: writer: leader (start/pause/resume/stop-task); readers: the
   * worker bound to <source>. Value: JSON {@link StageRecord}; absent = stopped.
   */
  taskStage(source = '', task?: string): string {
    return task === undefined ? `${this.prefix}task/stage/${source}${source ? '/' : ''}` : `${this.prefix}task/stage/${source}/${task}`;
  }

  /**
   * `task/validator/<source>/<task>`: writer: leader (`dmctl validation start|stop|update`; removed
   * by stop-task); readers: the worker bound to <source>, which starts or stops the subtask's
   * continuous validator (src/units/validate/validator.ts). Value: JSON {@link ValidatorStageRecord};
   * absent = the task config's `validators` mode decides.
   */
  validatorStage(source = '', task?: string): string {
    return task === undefined ? `${this.prefix}task/validator/${source}${source ? '/' : ''}` : `${this.prefix}task/validator/${source}/${task}`;
  }

  /**
   * `shardddl/<mode>/...`: shard-DDL coordination (issue 13); every key below it is built and
   * documented in src/store/shardddl.ts (`shardKeys`): `pessimism/{info,operation,lock}/<task>/...`
   * and `optimism/{source-tables,info,operation,lock}/<task>/...`. Writers: workers (infos, source
   * tables, `done` of their own operations) and the leader's lock keeper (src/master/shardddl/:
   * operations, lock records); stop-task and `start-task --remove-meta` delete a task's keys.
   */
  shardDDL(mode: 'pessimism' | 'optimism'): string {
    return `${this.prefix}shardddl/${mode}/`;
  }

  /** The last path element of a key (a worker, source or task name). */
  static lastPart(key: string): string {
    const i = key.lastIndexOf('/');
    return i < 0 ? key : key.slice(i + 1);
  }

  /** `<source>/<task>` part of a task/subtask or task/stage key. */
  static sourceAndTask(key: string): { source: string; task: string } {
    const parts = key.split('/');
    return { source: parts[parts.length - 2] ?? '', task: parts[parts.length - 1] ?? '' };
  }
}

export interface LeaderInfo {
  name: string;
  /** RPC address clients and followers use (advertise-addr). */
  addr: string;
}

export interface MasterInfo {
  name: string;
  addr: string;
  /** Embedded etcd peer URLs (empty with external etcd). */
  peerUrls: string[];
  clientUrls: string[];
}

export interface WorkerInfo {
  name: string;
  addr: string;
  labels?: Record<string, string>;
}

export interface WorkerAlive {
  name: string;
  addr: string;
  startedAt: string;
  /** The worker's keepalive-ttl (seconds): how long its alive key outlives it. */
  ttlSec?: number;
}

export interface SourceBound {
  source: string;
  worker: string;
  /** ISO time of the bind. */
  at: string;
}

export type DesiredStage = 'Running' | 'Paused';

export interface StageRecord {
  stage: DesiredStage;
}

export interface ValidatorStageRecord {
  stage: 'Running' | 'Stopped';
  /** `--mode`; absent = the task config's (full when it says none). */
  mode?: 'full' | 'fast';
  /** `--start-time`, an ISO UTC instant: only changes committed upstream at or after it are validated. */
  startTime?: string;
  /** `validation update --cutover-binlog-pos` / `--cutover-binlog-gtid`. */
  cutoverPos?: { file: string; offset: number };
  cutoverGtid?: string;
}

/** Desired relay stage of a source (`source/relay-stage/<source>`). */
export interface RelayStageRecord {
  stage: 'Running' | 'Paused' | 'Stopped';
}

export interface SubtaskRecord {
  /** The whole task.yaml text (target password encrypted); the worker compiles it once with compileSubtask(text, sourceId). */
  task: string;
  sourceId: string;
  /**
   * `start-task --start-time`, resolved by the master to an ISO UTC instant: where the sync unit
   * starts when it has no checkpoint yet. The worker's converger passes it to the pipeline as
   * PipelineInput.startTime.
   */
  startTime?: string;
  /**
   * Safe mode for this many seconds each time the subtask's sync unit starts (the OpenAPI start's
   * `safe_mode_time_duration`, written by a restart); absent = only as the task config says.
   */
  safeModeSeconds?: number;
}

// ---- binlog error operations (dmctl `binlog skip|replace|revert|inject|list`; added by the dmctl/pipeline area) ----

/**
 * `task/binlog-op/<source>/<task>/<pos>`: writer: leader (HandleError: skip/replace/inject put,
 * revert delete); readers: the sync unit of that subtask (via src/worker/binlog-ops.ts), which
 * deletes the key once the operation is applied; `binlog list` lists the prefix. `<pos>` is the
 * `file:offset` (':' kept) of the event the operation is for: the `-b` position, or, without `-b`,
 * the position of the event the subtask is paused on (asked from its worker). Only that event uses it.
 * (`current`, from older versions, is no longer written nor read.)
 * Value: JSON {@link BinlogOpRecord}. Operations survive a worker move (they live in etcd).
 */
export function binlogOpKey(keys: Keys, source = '', task?: string, pos?: string): string {
  if (task === undefined) return `${keys.prefix}task/binlog-op/${source}${source ? '/' : ''}`;
  return pos === undefined ? `${keys.prefix}task/binlog-op/${source}/${task}/` : `${keys.prefix}task/binlog-op/${source}/${task}/${pos}`;
}

export interface BinlogOpRecord {
  op: 'skip' | 'replace' | 'inject';
  /** `file:offset` of the event. */
  pos: string;
  /** Statements for replace/inject. */
  sqls: string[];
  /** ISO time the operation was created. */
  createdAt: string;
}
