CREATE DATABASE dash;
CREATE TABLE dash.t (id INT PRIMARY KEY, v VARCHAR(40));
INSERT INTO dash.t SELECT seq, CONCAT('row ', seq) FROM mysql.seq_1_to_2000;
