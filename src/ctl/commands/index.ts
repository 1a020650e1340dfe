// Every dmctl command registers itself on import.
import './operate-source.js';
import './start-task.js';
import './stop-task.js';
import './pause-task.js';
import './resume-task.js';
import './query-status.js';
import './check-task.js';
import './check-data.js';
import './list-member.js';
import './offline-member.js';
import './operate-leader.js';
import './transfer-source.js';
import './config.js';
import './binlog.js';
import './binlog-schema.js';
import './encrypt.js';
import './not-implemented.js';
