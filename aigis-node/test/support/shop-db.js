'use strict'
// A small real SQLite shop database (3 stores, 6 orders), written with sql.js (SQLite compiled
// to WebAssembly, from npm) into a temporary file that Aigis then opens read-only.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const initSqlJs = require('sql.js')

/** Creates the database; resolves to `{ url, dir, remove() }`. */
async function shopDb() {
  const SQL = await initSqlJs()
  const db = new SQL.Database()
  db.run(`
    CREATE TABLE stores (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, store_id INTEGER NOT NULL REFERENCES stores(id),
                         amount REAL NOT NULL, ordered_at TEXT NOT NULL);
    INSERT INTO stores VALUES (1,'North','FR'),(2,'South','FR'),(3,'West','DE');
    INSERT INTO orders VALUES (1,1,10.0,'2024-01-03'),(2,1,20.0,'2024-01-09'),(3,2,5.5,'2024-02-01'),
                              (4,3,7.0,'2024-02-11'),(5,3,8.0,'2024-03-05'),(6,3,9.0,'2024-03-15');
  `)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigis-node-'))
  const file = path.join(dir, 'shop.db')
  fs.writeFileSync(file, Buffer.from(db.export()))
  db.close()
  return { url: `sqlite://${file}`, dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

module.exports = { shopDb }
