CREATE DATABASE check_data;
CREATE TABLE check_data.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO check_data.t SELECT seq, CONCAT('row ', seq), seq % 13 FROM mysql.seq_1_to_5000;
CREATE TABLE check_data.nokey (a INT, b VARCHAR(10));
INSERT INTO check_data.nokey VALUES (1, 'x'), (1, 'x'), (2, NULL);
