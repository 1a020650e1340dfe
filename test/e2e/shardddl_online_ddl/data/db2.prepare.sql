CREATE DATABASE shard_3;
CREATE TABLE shard_3.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO shard_3.t SELECT seq, CONCAT('row ', seq), seq FROM shard_3.seq_30001_to_30300;
