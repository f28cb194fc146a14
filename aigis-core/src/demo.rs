//! The demo database: a small, deterministic shop in SQLite (stores, customers, products, orders
//! and order items), generated here from a seeded PRNG, with nothing downloaded.
//!
//! The same seed always yields the same rows, so tests and docs can rely on them. The file is
//! written under a temporary name and renamed into place, so a crash never leaves a
//! half-written database at the final path.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection as _, Executor as _, SqliteConnection};

use crate::connection::errors::{Phase, map_sqlx_error};
use crate::{Error, Result};

/// Rows generated per table.
pub const DEMO_STORES: usize = 5;
/// Customers in the demo database.
pub const DEMO_CUSTOMERS: usize = 80;
/// Products in the demo database.
pub const DEMO_PRODUCTS: usize = 30;
/// Orders in the demo database.
pub const DEMO_ORDERS: usize = 300;

const SCHEMA: &str = "
CREATE TABLE stores (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    opened_on DATE NOT NULL
);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    home_store_id INTEGER NOT NULL REFERENCES stores(id),
    created_at DATETIME NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    store_id INTEGER NOT NULL REFERENCES stores(id),
    ordered_at DATETIME NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'refunded'))
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    PRIMARY KEY (order_id, line)
);
CREATE VIEW order_totals AS
    SELECT o.id AS order_id, o.store_id, o.ordered_at, SUM(i.quantity * i.unit_price) AS total
    FROM orders o JOIN order_items i ON i.order_id = o.id
    GROUP BY o.id;
";

const CITIES: [&str; 5] = ["Lyon", "Porto", "Leipzig", "Bologna", "Ghent"];
const FIRST: [&str; 12] = ["Ana", "Ben", "Chloé", "Dara", "Emil", "Fatou", "Greta", "Hugo", "Ines", "Jonas", "Kaia", "Luca"];
const LAST: [&str; 10] = ["Martin", "Silva", "Schmidt", "Rossi", "Peeters", "Dubois", "Costa", "Weber", "Bianchi", "Janssens"];
const CATEGORIES: [(&str, [&str; 6]); 5] = [
    ("coffee", ["Espresso beans", "Filter roast", "Decaf blend", "Cold brew pack", "Single origin", "House blend"]),
    ("tea", ["Green tea", "Earl grey", "Rooibos", "Chai mix", "Jasmine tea", "Mint tea"]),
    ("bakery", ["Croissant", "Sourdough loaf", "Cinnamon roll", "Baguette", "Muffin", "Rye bread"]),
    ("equipment", ["Moka pot", "French press", "Hand grinder", "Pour-over cone", "Milk frother", "Kettle"]),
    ("merch", ["Mug", "Tote bag", "T-shirt", "Travel cup", "Cap", "Gift card"]),
];
const STATUSES: [&str; 4] = ["paid", "shipped", "delivered", "refunded"];

/// SplitMix64: tiny, seeded, and identical on every platform.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `2024-01-01` plus `days`, as `YYYY-MM-DD`.
fn date(days: usize) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    (base + chrono::Days::new(days as u64)).format("%Y-%m-%d").to_string()
}

/// Where `aigis demo` keeps its database: `$AIGIS_DEMO_DB`, else
/// `$XDG_DATA_HOME/aigis/demo.db` (or `~/.local/share/aigis/demo.db`), else the temp directory.
pub fn default_demo_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AIGIS_DEMO_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|p| !p.is_empty()).map(|h| PathBuf::from(h).join(".local/share")));
    match data {
        Some(dir) => dir.join("aigis").join("demo.db"),
        None => std::env::temp_dir().join("aigis-demo.db"),
    }
}

/// Creates the demo database at `path` unless a file is already there; returns `path`.
pub async fn ensure_demo_database(path: &Path) -> Result<PathBuf> {
    if !path.exists() {
        create_demo_database(path).await?;
    }
    Ok(path.to_path_buf())
}

/// Writes the demo database to `path` (replacing any file there), atomically.
pub async fn create_demo_database(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await?;
    }
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "demo.db".into());
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let _ = tokio::fs::remove_file(&tmp).await;
    let written = write_database(&tmp).await;
    match written {
        Ok(()) => tokio::fs::rename(&tmp, path).await.map_err(Error::Io),
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(e)
        }
    }
}

async fn write_database(path: &Path) -> Result<()> {
    let map = |e| map_sqlx_error(e, Phase::Query, None);
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // One self-contained file: no -wal/-shm companions to rename.
        .journal_mode(SqliteJournalMode::Delete)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| map_sqlx_error(e, Phase::Connect, None))?;
    let mut tx = conn.begin().await.map_err(map)?;
    tx.execute(SCHEMA).await.map_err(map)?;
    let mut rng = Prng(0xA161_5EED);

    for (i, city) in CITIES.iter().enumerate().take(DEMO_STORES) {
        sqlx::query("INSERT INTO stores (id, name, city, opened_on) VALUES (?, ?, ?, ?)")
            .bind(i as i64 + 1)
            .bind(format!("{city} Central"))
            .bind(*city)
            .bind(date(rng.below(120)))
            .execute(&mut *tx)
            .await
            .map_err(map)?;
    }
    for id in 1..=DEMO_CUSTOMERS {
        let first = FIRST[rng.below(FIRST.len())];
        let last = LAST[rng.below(LAST.len())];
        let store = rng.below(DEMO_STORES);
        sqlx::query("INSERT INTO customers (id, name, email, city, home_store_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(id as i64)
            .bind(format!("{first} {last}"))
            .bind(format!("{}.{}{id}@example.com", first.to_lowercase(), last.to_lowercase()))
            .bind(CITIES[store])
            .bind(store as i64 + 1)
            .bind(format!("{} {:02}:{:02}:00", date(rng.below(365)), rng.below(24), rng.below(60)))
            .execute(&mut *tx)
            .await
            .map_err(map)?;
    }
    let mut prices = Vec::with_capacity(DEMO_PRODUCTS);
    for id in 1..=DEMO_PRODUCTS {
        let (category, names) = CATEGORIES[(id - 1) / 6];
        // Whole cents, so sums are exact enough to compare across runs.
        let price = (300 + rng.below(4500)) as f64 / 100.0;
        prices.push(price);
        sqlx::query("INSERT INTO products (id, name, category, price, active) VALUES (?, ?, ?, ?, ?)")
            .bind(id as i64)
            .bind(names[(id - 1) % 6])
            .bind(category)
            .bind(price)
            .bind(rng.below(10) != 0)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
    }
    for id in 1..=DEMO_ORDERS {
        let customer = rng.below(DEMO_CUSTOMERS) + 1;
        // Most orders go to the customer's home store, some elsewhere.
        let store = if rng.below(4) == 0 { rng.below(DEMO_STORES) + 1 } else { (customer - 1) % DEMO_STORES + 1 };
        let status = STATUSES[[0, 1, 2, 2, 2, 2, 3][rng.below(7)]];
        sqlx::query("INSERT INTO orders (id, customer_id, store_id, ordered_at, status) VALUES (?, ?, ?, ?, ?)")
            .bind(id as i64)
            .bind(customer as i64)
            .bind(store as i64)
            .bind(format!("{} {:02}:{:02}:00", date(365 + rng.below(365)), 8 + rng.below(12), rng.below(60)))
            .bind(status)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        for line in 1..=(1 + rng.below(3)) {
            let product = rng.below(DEMO_PRODUCTS);
            sqlx::query("INSERT INTO order_items (order_id, line, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, ?)")
                .bind(id as i64)
                .bind(line as i64)
                .bind(product as i64 + 1)
                .bind(1 + rng.below(4) as i64)
                .bind(prices[product])
                .execute(&mut *tx)
                .await
                .map_err(map)?;
        }
    }
    tx.commit().await.map_err(map)?;
    conn.close().await.map_err(map)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_is_deterministic_and_spread() {
        let (mut a, mut b) = (Prng(7), Prng(7));
        let xs: Vec<usize> = (0..100).map(|_| a.below(10)).collect();
        let ys: Vec<usize> = (0..100).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        assert!((0..10).all(|d| xs.contains(&d)), "{xs:?}");
        assert_eq!(date(0), "2024-01-01");
        assert_eq!(date(366), "2025-01-01");
    }
}
