SELECT 'a;b', "x;y", E'\';' -- c;
/* d; /* e; */ f; */ ; SELECT $$ g; $$, $t$ h; $t$; SELECT $1;