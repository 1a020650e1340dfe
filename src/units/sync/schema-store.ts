/**
 * Where the tracked table structures of a subtask are persisted, for `dmctl binlog-schema`.
 *
 * The sync unit stores the schema tracker's snapshot (SchemaTracker.exportSchemas(), JSON) in
 * `table_info` of the global row of `<meta>.<task>_syncer_checkpoint` (src/units/sync/checkpoint.ts),
 * valid at that row's position, and imports it when it resumes from there. This module is the one
 * place that reads and rewrites that snapshot outside the running sync unit; any further place
 * structures are recorded in (e.g. the full phase's snapshot structures) belongs here too.
 *
 * It writes only the snapshot column, never the position: call it while the subtask is Paused
 * (the sync unit writes its final checkpoint before the subtask shows Paused, and reloads the row
 * when it resumes).
 */
import type { RowDataPacket } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { metaTableName } from '../meta-tables.js';

/** The little of a connection or pool this needs. */
export interface SchemaStoreConn {
  query<T extends RowDataPacket[]>(sql: string, values?: unknown[]): Promise<[T, unknown]>;
}

export interface StoredSchemas {
  /** The checkpoint position the snapshot is valid at (`file:offset`), for messages. */
  at: string;
  /** SchemaTracker.exportSchemas() JSON; undefined when the row holds none. */
  json: string | undefined;
}

export class SchemaStore {
  private readonly cpTable: string;

  constructor(
    metaSchema: string,
    private readonly taskName: string,
    private readonly sourceId: string,
  ) {
    this.cpTable = metaTableName(metaSchema, taskName, 'syncerCheckpoint');
  }

  private noCheckpoint(cause?: unknown): DMError {
    return new DMError('ErrSchemaTrackerNoCheckpoint', `task ${this.taskName} has no sync checkpoint for source ${this.sourceId} in ${this.cpTable}`, cause === undefined ? undefined : { cause });
  }

  /** The snapshot stored with the checkpoint. Throws ErrSchemaTrackerNoCheckpoint when there is no checkpoint row (or table). */
  async load(conn: SchemaStoreConn): Promise<StoredSchemas> {
    let rows: RowDataPacket[];
    try {
      [rows] = await conn.query<RowDataPacket[]>(`SELECT binlog_name, binlog_pos, table_info FROM ${this.cpTable} WHERE id = ? AND cp_schema = '' AND cp_table = ''`, [this.sourceId]);
    } catch (e) {
      // no checkpoint table yet (ER_NO_SUCH_TABLE / ER_BAD_DB_ERROR): the sync unit never started
      const errno = (e as { errno?: number }).errno;
      if (errno === 1146 || errno === 1049) throw this.noCheckpoint(e);
      throw e;
    }
    const r = rows[0];
    if (!r) throw this.noCheckpoint();
    const ti = r['table_info'] as string | null;
    return { at: `${String(r['binlog_name'])}:${String(r['binlog_pos'])}`, json: ti === null || ti === '' ? undefined : ti };
  }

  /** Replace the snapshot stored with the checkpoint (the position is kept). */
  async save(conn: SchemaStoreConn, json: string): Promise<void> {
    const [res] = (await conn.query(`UPDATE ${this.cpTable} SET table_info = ? WHERE id = ? AND cp_schema = '' AND cp_table = ''`, [json, this.sourceId])) as unknown as [{ affectedRows?: number }];
    if (!res || res.affectedRows === 0) throw this.noCheckpoint();
  }
}
