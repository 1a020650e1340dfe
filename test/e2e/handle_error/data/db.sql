CREATE DATABASE handle;
CREATE TABLE handle.t (id INT PRIMARY KEY, v INT, note VARCHAR(40));
INSERT INTO handle.t VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, 'three');
