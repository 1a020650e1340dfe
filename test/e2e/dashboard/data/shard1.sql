CREATE DATABASE shard_1;
CREATE TABLE shard_1.pes (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO shard_1.pes SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1_to_100;
CREATE TABLE shard_1.opt (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO shard_1.opt SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1_to_100;
