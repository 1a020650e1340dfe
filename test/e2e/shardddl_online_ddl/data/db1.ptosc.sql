CREATE DATABASE shard_1;
CREATE TABLE shard_1.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO shard_1.t SELECT seq, CONCAT('row ', seq), seq FROM shard_1.seq_1_to_3000;
