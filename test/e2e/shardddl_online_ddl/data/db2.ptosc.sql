CREATE DATABASE shard_2;
CREATE TABLE shard_2.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO shard_2.t SELECT seq, CONCAT('row ', seq), seq FROM shard_2.seq_20001_to_23000;
