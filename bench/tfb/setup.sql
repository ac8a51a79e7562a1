-- TechEmpower's database tables for PostgreSQL, as its
-- toolset/databases/postgres/create-postgres.sql makes them: World
-- (10,000 rows, randomNumber 1..10000) and Fortune (the 12 fortunes).
-- Unquoted names fold to lower case, so the tables are world and fortune
-- with columns id, randomnumber and id, message: what the queries in
-- examples/tfb/main.c and bench/tfb/node/server.js name. (TechEmpower also
-- makes quoted "World"/"Fortune" copies for ORMs that quote; nothing here
-- uses them.)
--
-- Re-runnable: it drops and recreates both tables in one transaction, so a
-- second run leaves the same state as the first (with fresh random numbers,
-- which /updates changes anyway). Load it with bench/tfb/load.sh URL.
\set ON_ERROR_STOP on
SET client_min_messages = warning; -- no "does not exist, skipping" notices
BEGIN;

DROP TABLE IF EXISTS world;
DROP TABLE IF EXISTS fortune;

CREATE TABLE world (
  id integer NOT NULL,
  randomNumber integer NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);
INSERT INTO world (id, randomnumber)
SELECT x.id, least(floor(random() * 10000 + 1), 10000)
FROM generate_series(1, 10000) AS x(id);

CREATE TABLE fortune (
  id integer NOT NULL,
  message varchar(2048) NOT NULL,
  PRIMARY KEY (id)
);
INSERT INTO fortune (id, message) VALUES
  (1, 'fortune: No such file or directory'),
  (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
  (3, 'After enough decimal places, nobody gives a damn.'),
  (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
  (5, 'A computer program does what you tell it to do, not what you want it to do.'),
  (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
  (7, 'Any program that runs right is obsolete.'),
  (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
  (9, 'Feature: A bug with seniority.'),
  (10, 'Computers make very fast, very accurate mistakes.'),
  (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
  (12, 'フレームワークのベンチマーク');

COMMIT;

-- Fresh statistics: the planner then picks the primary-key index for the
-- single-row lookups from the first query on.
ANALYZE world;
ANALYZE fortune;
