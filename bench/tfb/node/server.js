'use strict';
// TechEmpower's database tests (/db, /queries, /fortunes, /updates) on Hono
// (@hono/node-server) with the pg package's Pool: the Node peer of
// chopin-tfb in bench/db.sh. Cluster of WORKERS (default 2) processes, each
// with its own pool of PG_POOL connections (default 8: of 4, 8 and 16,
// 8 served /queries best here and /db within the noise). Same database
// (bench/tfb/setup.sql), same SQL and the same rules as examples/tfb/main.c:
// each row read by its own prepared statement (n of them in flight at once,
// on up to n pool connections), one batched UPDATE for /updates.
// Must run from a folder whose node_modules holds hono, @hono/node-server
// and pg (bench/db.sh installs them into RUNDIR/node).
// Usage: DATABASE_URL=postgres://... PORT=19201 WORKERS=2 PG_POOL=8 node server.js
const cluster = require('node:cluster');

const port = Number(process.env.PORT || 19201);
const host = process.env.HOST || '127.0.0.1';
const workers = Number(process.env.WORKERS || 2);
const poolSize = Number(process.env.PG_POOL || 8);

if (cluster.isPrimary) {
  if (!process.env.DATABASE_URL) {
    console.error('DATABASE_URL is not set (postgres://user@host:port/db)');
    process.exit(2);
  }
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('exit', (w, code, sig) => {
    console.error(`worker ${w.process.pid} exited (${sig || code})`);
  });
  const stop = () => {
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { Hono } = require('hono');
  const { serve } = require('@hono/node-server');
  const { Pool } = require('pg');

  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: poolSize });
  // A named query is prepared once per connection, like Chopin's statement cache.
  const worldById = (id) =>
    pool.query({ name: 'world', text: 'SELECT id, randomnumber FROM world WHERE id = $1', values: [id] });
  const randomWorld = () => 1 + Math.floor(Math.random() * 10000);

  // TechEmpower's rule: missing, not an integer or below 1 -> 1; above 500 -> 500.
  const queryCount = (q) => {
    if (q === undefined || !/^[+-]?[0-9]+$/.test(q)) return 1;
    const n = Number(q);
    return n < 1 ? 1 : n > 500 ? 500 : n;
  };

  const readWorlds = async (n) => {
    const results = await Promise.all(Array.from({ length: n }, () => worldById(randomWorld())));
    return results.map((r) => {
      const row = r.rows[0];
      return { id: row.id, randomNumber: row.randomnumber };
    });
  };

  const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const escapeHtml = (s) => s.replace(/[&<>"']/g, (ch) => escapes[ch]);

  const app = new Hono();
  // The Server header is set in each handler, as in ../shared/bench/node/
  // hono-cluster.js: a middleware that sets it after `await next()` makes
  // Hono rebuild every Response and cost 2-3x the CPU per request here.

  app.get('/db', async (c) => {
    c.header('Server', 'hono');
    const row = (await worldById(randomWorld())).rows[0];
    return c.json({ id: row.id, randomNumber: row.randomnumber });
  });

  app.get('/queries', async (c) => {
    c.header('Server', 'hono');
    return c.json(await readWorlds(queryCount(c.req.query('queries'))));
  });

  app.get('/fortunes', async (c) => {
    c.header('Server', 'hono');
    const rows = (await pool.query({ name: 'fortunes', text: 'SELECT id, message FROM fortune' })).rows;
    rows.push({ id: 0, message: 'Additional fortune added at request time.' });
    rows.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
    let html = '<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>' +
      '<tr><th>id</th><th>message</th></tr>';
    for (const f of rows) html += `<tr><td>${f.id}</td><td>${escapeHtml(f.message)}</td></tr>`;
    html += '</table></body></html>';
    return c.body(html, 200, { 'Content-Type': 'text/html; charset=utf-8' });
  });

  app.get('/updates', async (c) => {
    c.header('Server', 'hono');
    const worlds = await readWorlds(queryCount(c.req.query('queries')));
    for (const w of worlds) {
      let next;
      do next = randomWorld(); while (next === w.randomNumber);
      w.randomNumber = next;
    }
    // Sorted ids (no deadlocks between concurrent batches), a repeated id
    // written once and reported with the value written.
    const byId = new Map();
    for (const w of worlds) {
      if (byId.has(w.id)) w.randomNumber = byId.get(w.id);
      else byId.set(w.id, w.randomNumber);
    }
    const ids = [...byId.keys()].sort((a, b) => a - b);
    await pool.query({
      name: 'updates',
      text: 'UPDATE world SET randomnumber = u.r FROM (SELECT unnest($1::int[]) AS id, ' +
        'unnest($2::int[]) AS r) u WHERE world.id = u.id',
      values: [ids, ids.map((id) => byId.get(id))],
    });
    return c.json(worlds);
  });

  serve({ fetch: app.fetch, port, hostname: host });
}
