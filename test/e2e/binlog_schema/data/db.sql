CREATE DATABASE bs;
CREATE TABLE bs.t (id INT PRIMARY KEY, v INT, note VARCHAR(20));
INSERT INTO bs.t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three');
