CREATE DATABASE ogh;
CREATE TABLE ogh.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO ogh.t SELECT seq, CONCAT('row ', seq), seq FROM ogh.seq_1_to_3000;
CREATE DATABASE opt;
CREATE TABLE opt.t (id INT PRIMARY KEY, v VARCHAR(40), n INT);
INSERT INTO opt.t SELECT seq, CONCAT('row ', seq), seq FROM opt.seq_1_to_8000;
