CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(30), n DECIMAL(8,2));
INSERT INTO t VALUES (1, 'before meta', 1.5), (2, 'before meta', 2.5);
