-- The people who exist before the people-email migration, inserted by the walk's beforeExpand step
INSERT INTO people (name, email) SELECT 'Person ' || i, 'Person.' || i || '@Example.com' FROM generate_series(1, 300) AS i;
