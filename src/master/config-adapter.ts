/**
 * Thin adapter between the control plane and src/config: the few facts the control plane needs
 * from a source/task config (full validation is src/config's), and password encryption of the
 * source.yaml text stored in etcd.
 */
import { parseDocument, isMap } from 'yaml';
import { DMError } from '../errors/index.js';
import { encrypt, parseSourceConfig, parseTaskConfig, withEncryptedPassword, type SourceConfig, type TaskConfig } from '../config/index.js';

export interface SourceFacts {
  sourceId: string;
  enableRelay: boolean;
  enableGtid: boolean;
  flavor: string;
  /**
   * The `from` block as loaded (password decrypted); whoever connects resolves it into src/sql's
   * ConnConfig with dbConnOf (TLS files are read then, so that a missing file is that check's error).
   */
  from: SourceConfig['from'];
}

export interface TaskFacts {
  name: string;
  taskMode: string;
  shardMode: string;
  sourceIds: string[];
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;
/**
 * Task names: DM accepts any non-empty name; DM.ts keeps them in etcd key paths and in the loader
 * dir name, so '/', '\\' and control characters are refused (the length limit is src/config's).
 */
// eslint-disable-next-line no-control-regex
const TASK_NAME_RE = /^[^/\\\u0000-\u001f\u007f]+$/;

/** Facts of a source.yaml; ErrConfig* when it does not parse or is invalid. */
export function sourceFacts(text: string, secretKey?: Buffer, file = 'source.yaml'): SourceFacts {
  const c = parseSourceConfig(text, { file, ...(secretKey ? { secretKey } : {}) });
  if (!NAME_RE.test(c.sourceId)) {
    throw new DMError('ErrConfigInvalidValue', `${file}: source-id ${JSON.stringify(c.sourceId)} may only hold letters, digits, '_', '.', '-'`);
  }
  return {
    sourceId: c.sourceId,
    enableRelay: c.enableRelay,
    enableGtid: c.enableGtid,
    flavor: c.flavor,
    from: c.from,
  };
}

/** The source.yaml text with `from.password` encrypted (as stored in etcd). */
export function encryptSourcePassword(text: string, secretKey?: Buffer): string {
  return encryptPasswordAt(text, 'from', secretKey);
}

function encryptPasswordAt(text: string, block: string, secretKey?: Buffer): string {
  return withEncryptedPassword(parseDocument(text), block, secretKey);
}

/** What `config task` / `config source` (GetConfig) show for a password, as DM does. */
export const PASSWORD_MASK = '******';

/** A stored task.yaml with `target-database.password` shown as ******. */
export function maskTaskPassword(text: string): string {
  return maskPasswordAt(text, 'target-database');
}

/** A stored source.yaml with `from.password` shown as ******. */
export function maskSourcePassword(text: string): string {
  return maskPasswordAt(text, 'from');
}

function maskPasswordAt(text: string, block: string): string {
  const doc = parseDocument(text);
  const b = doc.get(block);
  if (isMap(b) && b.has('password')) b.set('password', PASSWORD_MASK);
  return doc.toString();
}

/** Facts of a task.yaml; ErrConfig* when invalid. */
export function taskFacts(text: string, secretKey?: Buffer, file = 'task.yaml'): TaskFacts {
  return taskFactsOf(parseTaskConfig(text, { file, ...(secretKey ? { secretKey } : {}) }), file);
}

/** Facts of a compiled task (compileTask); ErrConfigInvalidValue for a name DM.ts cannot keep. */
export function taskFactsOf(t: TaskConfig, file = 'task.yaml'): TaskFacts {
  if (!TASK_NAME_RE.test(t.name)) {
    throw new DMError('ErrConfigInvalidValue', `${file}: task name ${JSON.stringify(t.name)} may not hold '/', '\\' or control characters (DM.ts keeps task names in etcd key paths and file names)`);
  }
  return { name: t.name, taskMode: t.taskMode, shardMode: t.shardMode, sourceIds: t.mysqlInstances.map((m) => m.sourceId) };
}

export { encrypt as encryptText };
