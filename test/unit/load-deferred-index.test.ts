import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clauseIndexName, splitSecondaryKeys } from '../../src/units/full/deferred-index.js';

// SHOW CREATE TABLE texts as MariaDB 10.11 prints them
const SBTEST = `CREATE TABLE \`sbtest1\` (
  \`id\` int(11) NOT NULL AUTO_INCREMENT,
  \`k\` int(11) NOT NULL DEFAULT 0,
  \`c\` char(120) NOT NULL DEFAULT '',
  \`pad\` char(60) NOT NULL DEFAULT '',
  PRIMARY KEY (\`id\`),
  KEY \`k_1\` (\`k\`)
) ENGINE=InnoDB AUTO_INCREMENT=250001 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;

test('sysbench table: the secondary key is taken out, the last kept line loses its comma', () => {
  const s = splitSecondaryKeys(SBTEST);
  assert.deepEqual(s.clauses, ['ADD KEY `k_1` (`k`)']);
  assert.equal(
    s.createSQL,
    `CREATE TABLE \`sbtest1\` (
  \`id\` int(11) NOT NULL AUTO_INCREMENT,
  \`k\` int(11) NOT NULL DEFAULT 0,
  \`c\` char(120) NOT NULL DEFAULT '',
  \`pad\` char(60) NOT NULL DEFAULT '',
  PRIMARY KEY (\`id\`)
) ENGINE=InnoDB AUTO_INCREMENT=250001 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  );
});

test('unique, fulltext and spatial keys stay; plain keys with prefixes, comments and odd names move in order', () => {
  const ddl = `CREATE TABLE \`a\` (
  \`id\` bigint(20) NOT NULL,
  \`u\` varchar(20) DEFAULT NULL,
  \`x\` int(11) DEFAULT NULL,
  \`y\` text DEFAULT NULL,
  \`g\` point NOT NULL,
  PRIMARY KEY (\`id\`),
  UNIQUE KEY \`u\` (\`u\`),
  KEY \`k\`\`odd, name\` (\`x\`,\`y\`(10)) COMMENT 'it''s, here',
  FULLTEXT KEY \`ft\` (\`y\`),
  SPATIAL KEY \`sp\` (\`g\`),
  KEY \`kx\` (\`x\`) USING BTREE,
  CONSTRAINT \`chk\` CHECK (\`x\` > 0)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci
 PARTITION BY HASH (\`id\`)
PARTITIONS 2`;
  const s = splitSecondaryKeys(ddl);
  assert.deepEqual(s.clauses, [
    "ADD KEY `k``odd, name` (`x`,`y`(10)) COMMENT 'it''s, here'",
    'ADD KEY `kx` (`x`) USING BTREE',
  ]);
  assert.deepEqual(s.clauses.map(clauseIndexName), ['k`odd, name', 'kx']);
  assert.equal(
    s.createSQL,
    `CREATE TABLE \`a\` (
  \`id\` bigint(20) NOT NULL,
  \`u\` varchar(20) DEFAULT NULL,
  \`x\` int(11) DEFAULT NULL,
  \`y\` text DEFAULT NULL,
  \`g\` point NOT NULL,
  PRIMARY KEY (\`id\`),
  UNIQUE KEY \`u\` (\`u\`),
  FULLTEXT KEY \`ft\` (\`y\`),
  SPATIAL KEY \`sp\` (\`g\`),
  CONSTRAINT \`chk\` CHECK (\`x\` > 0)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci
 PARTITION BY HASH (\`id\`)
PARTITIONS 2`,
  );
});

test('a key led by the AUTO_INCREMENT column stays (InnoDB needs it at CREATE); other keys move', () => {
  const s = splitSecondaryKeys(`CREATE TABLE \`b\` (
  \`id\` int(11) NOT NULL AUTO_INCREMENT,
  \`v\` int(11) DEFAULT NULL,
  KEY \`id\` (\`id\`,\`v\`),
  KEY \`kv\` (\`v\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  assert.deepEqual(s.clauses, ['ADD KEY `kv` (`v`)']);
  assert.match(s.createSQL, /KEY `id` \(`id`,`v`\)\n\) ENGINE/);
});

test('tables with foreign keys, without plain keys, or with lines it does not recognise are unchanged', () => {
  const fk = `CREATE TABLE \`child\` (
  \`id\` int(11) NOT NULL,
  \`p\` int(11) DEFAULT NULL,
  PRIMARY KEY (\`id\`),
  KEY \`p\` (\`p\`),
  CONSTRAINT \`child_ibfk_1\` FOREIGN KEY (\`p\`) REFERENCES \`parent\` (\`id\`)
) ENGINE=InnoDB`;
  const noKeys = 'CREATE TABLE `n` (\n  `a` int(11) DEFAULT NULL\n) ENGINE=InnoDB';
  const multiLine =
    'CREATE TABLE `m` (\n  `a` int(11) DEFAULT NULL,\n  `b` int(11) AS (`a` +\n1) VIRTUAL,\n  KEY `ka` (`a`)\n) ENGINE=InnoDB';
  const oneLine = 'CREATE TABLE `o` (`a` int, KEY `ka` (`a`))';
  for (const ddl of [fk, noKeys, multiLine, oneLine])
    assert.deepEqual(splitSecondaryKeys(ddl), { createSQL: ddl, clauses: [] });
});
