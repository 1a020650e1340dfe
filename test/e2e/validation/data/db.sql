CREATE DATABASE vd;
CREATE TABLE vd.t (id INT PRIMARY KEY, v VARCHAR(40), n INT, d DECIMAL(10,2), f FLOAT, ts DATETIME(3), b VARBINARY(8));
INSERT INTO vd.t SELECT seq, CONCAT('row ', seq), seq % 13, seq / 7, seq / 3, '2024-01-02 03:04:05.678', UNHEX('00ff') FROM mysql.seq_1_to_300;
CREATE TABLE vd.nokey (a INT, b VARCHAR(10));
INSERT INTO vd.nokey VALUES (1, 'x');
