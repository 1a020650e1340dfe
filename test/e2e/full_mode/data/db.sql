CREATE DATABASE full_mode;
USE full_mode;
CREATE TABLE full_mode.t1 (id INT PRIMARY KEY, name VARCHAR(40) CHARACTER SET utf8mb4, price DECIMAL(10,3), at DATETIME(6), raw VARBINARY(16), big BIGINT UNSIGNED);
INSERT INTO full_mode.t1 SELECT seq, CONCAT('名前 ', seq), seq / 7, TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, UNHEX(MD5(seq)), 18446744073709551615 - seq FROM seq_1_to_5000;
CREATE TABLE full_mode.t2 (k VARCHAR(20) NOT NULL, v JSON, UNIQUE KEY (k));
INSERT INTO full_mode.t2 SELECT CONCAT('k', seq), JSON_OBJECT('n', seq) FROM seq_1_to_300;
CREATE TABLE full_mode.t3 (a INT, b TEXT);
INSERT INTO full_mode.t3 VALUES (1, 'no key'), (1, 'no key'), (NULL, NULL);
