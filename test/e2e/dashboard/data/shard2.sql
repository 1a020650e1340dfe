CREATE DATABASE shard_2;
CREATE TABLE shard_2.pes (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO shard_2.pes SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1001_to_1100;
CREATE TABLE shard_2.opt (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO shard_2.opt SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1001_to_1100;
