#!/usr/bin/env python3
"""Generates the guard's test corpora (committed output in aigis-core/tests/corpus/).

legit.tsv:   dialect<TAB>sql            -- realistic analytical queries over the shop schema,
                                           all of which the corpus policy must allow.
attacks.tsv: dialect<TAB>expected<TAB>sql -- attacks; `expected` is the violation code that must
                                           reject it, or a note code (scope_applied, column_masked,
                                           limit_clamped) proving it was neutralised.
Hand-written attacks live in attacks-manual.tsv and are appended as they are.

Run: python3 scripts/gen-guard-corpus.py
"""
import itertools
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "aigis-core", "tests", "corpus")
DIALECTS = ["postgres", "mysql", "sqlite"]

MONTH = {
    "postgres": "date_trunc('month', o.ordered_at)",
    "mysql": "DATE_FORMAT(o.ordered_at, '%Y-%m-01')",
    "sqlite": "strftime('%Y-%m-01', o.ordered_at)",
}
YEAR = {
    "postgres": "EXTRACT(YEAR FROM o.ordered_at)",
    "mysql": "YEAR(o.ordered_at)",
    "sqlite": "CAST(strftime('%Y', o.ordered_at) AS INTEGER)",
}
DAYS_TO_SHIP = {
    "postgres": "EXTRACT(EPOCH FROM (o.shipped_at - o.ordered_at)) / 86400",
    "mysql": "DATEDIFF(o.shipped_at, o.ordered_at)",
    "sqlite": "julianday(o.shipped_at) - julianday(o.ordered_at)",
}
RECENT = {
    "postgres": "o.ordered_at >= CURRENT_DATE - INTERVAL '90 days'",
    "mysql": "o.ordered_at >= DATE_SUB(CURDATE(), INTERVAL 90 DAY)",
    "sqlite": "o.ordered_at >= date('now', '-90 days')",
}
LABEL = {
    "postgres": "upper(s.city) || ' / ' || s.name",
    "mysql": "CONCAT(UPPER(s.city), ' / ', s.name)",
    "sqlite": "upper(s.city) || ' / ' || s.name",
}
WEEKDAY = {
    "postgres": "to_char(o.ordered_at, 'Dy')",
    "mysql": "DAYNAME(o.ordered_at)",
    "sqlite": "strftime('%w', o.ordered_at)",
}
INITIAL = {
    "postgres": "substring(p.name from 1 for 1)",
    "mysql": "LEFT(p.name, 1)",
    "sqlite": "substr(p.name, 1, 1)",
}

MEASURES = [
    ("SUM(o.amount)", "revenue"),
    ("COUNT(*)", "order_count"),
    ("AVG(o.amount)", "avg_order"),
    ("COUNT(DISTINCT o.customer_id)", "buyers"),
    ("MAX(o.amount)", "largest_order"),
]
DIMS = [
    ("s.name", "store"),
    ("s.region", "region"),
    ("o.status", "status"),
    ("c.city", "customer_city"),
]


def legit(d):
    q = []
    # 1. measure by dimension, joins, ordering, limit variety
    for (m, mn), (dim, dn) in itertools.product(MEASURES, DIMS):
        q.append(
            f"SELECT {dim} AS {dn}, {m} AS {mn} FROM orders o JOIN stores s ON s.id = o.store_id "
            f"JOIN customers c ON c.id = o.customer_id GROUP BY {dim} ORDER BY {mn} DESC LIMIT 20"
        )
    # 2. monthly / yearly time series
    for m, mn in MEASURES:
        q.append(f"SELECT {MONTH[d]} AS month, {m} AS {mn} FROM orders o GROUP BY {MONTH[d]} ORDER BY month")
        q.append(f"SELECT {YEAR[d]} AS yr, s.region, {m} AS {mn} FROM orders o JOIN stores s ON s.id = o.store_id "
                 f"GROUP BY {YEAR[d]}, s.region ORDER BY yr, s.region")
    # 2b. filtered groups with HAVING
    for (m, mn), st in itertools.product(MEASURES, ["shipped", "returned"]):
        q.append(f"SELECT o.customer_id, {m} AS {mn} FROM orders o WHERE o.status = '{st}' "
                 f"GROUP BY o.customer_id HAVING {m} > 1 ORDER BY {mn} DESC LIMIT 25")
    q.append("SELECT category, name, units FROM (SELECT p.category, p.name, SUM(oi.quantity) AS units, "
             "ROW_NUMBER() OVER (PARTITION BY p.category ORDER BY SUM(oi.quantity) DESC) AS rn "
             "FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.category, p.name) ranked WHERE rn <= 3")
    q.append("SELECT s.region, COUNT(DISTINCT e.id) AS staff, COUNT(DISTINCT o.id) AS orders FROM stores s "
             "LEFT JOIN employees e ON e.store_id = s.id LEFT JOIN orders o ON o.store_id = s.id GROUP BY s.region")
    # 3. window functions
    for part, order in [("o.store_id", "o.amount DESC"), ("o.customer_id", "o.ordered_at"), ("s.region", "o.amount")]:
        q.append(f"SELECT o.id, {part} AS grp, o.amount, ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY {order}) AS rn "
                 f"FROM orders o JOIN stores s ON s.id = o.store_id")
        q.append(f"SELECT o.id, o.amount, SUM(o.amount) OVER (PARTITION BY {part} ORDER BY o.ordered_at "
                 f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM orders o JOIN stores s ON s.id = o.store_id")
        q.append(f"SELECT o.id, RANK() OVER (PARTITION BY {part} ORDER BY o.amount DESC) AS rnk, "
                 f"LAG(o.amount) OVER (PARTITION BY {part} ORDER BY o.ordered_at) AS prev_amount "
                 f"FROM orders o JOIN stores s ON s.id = o.store_id")
    q.append("SELECT p.category, p.name, p.price, DENSE_RANK() OVER (PARTITION BY p.category ORDER BY p.price DESC) AS price_rank FROM products p")
    q.append("SELECT p.name, NTILE(4) OVER (ORDER BY p.price) AS quartile FROM products p")
    q.append("SELECT o.store_id, o.amount, AVG(o.amount) OVER (PARTITION BY o.store_id) AS store_avg, o.amount - AVG(o.amount) OVER (PARTITION BY o.store_id) AS diff FROM orders o")
    # 4. CTEs
    for m, mn in MEASURES:
        q.append(f"WITH monthly AS (SELECT {MONTH[d]} AS month, {m} AS {mn} FROM orders o GROUP BY {MONTH[d]}) "
                 f"SELECT month, {mn} FROM monthly WHERE {mn} > 0 ORDER BY month")
        q.append(f"WITH per_store AS (SELECT o.store_id, {m} AS {mn} FROM orders o GROUP BY o.store_id), "
                 f"ranked AS (SELECT store_id, {mn}, RANK() OVER (ORDER BY {mn} DESC) AS r FROM per_store) "
                 f"SELECT s.name, r.{mn} FROM ranked r JOIN stores s ON s.id = r.store_id WHERE r.r <= 5")
    q.append("WITH big AS (SELECT customer_id, SUM(amount) AS total FROM orders GROUP BY customer_id HAVING SUM(amount) > 1000) SELECT c.name, b.total FROM big b JOIN customers c ON c.id = b.customer_id ORDER BY b.total DESC")
    q.append("WITH item_totals AS (SELECT oi.order_id, SUM(oi.quantity * oi.unit_price) AS total FROM order_items oi GROUP BY oi.order_id) SELECT AVG(total) AS avg_basket, MAX(total) AS max_basket FROM item_totals")
    # 5. subqueries
    for cat in ["books", "garden", "toys", "kitchen"]:
        q.append(f"SELECT p.name, p.price FROM products p WHERE p.category = '{cat}' AND p.price > (SELECT AVG(price) FROM products WHERE category = '{cat}')")
        q.append(f"SELECT c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o JOIN order_items oi ON oi.order_id = o.id "
                 f"JOIN products p ON p.id = oi.product_id WHERE o.customer_id = c.id AND p.category = '{cat}')")
        q.append(f"SELECT s.name, (SELECT COUNT(*) FROM orders o WHERE o.store_id = s.id) AS orders FROM stores s WHERE s.id IN "
                 f"(SELECT o.store_id FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id WHERE p.category = '{cat}')")
    q.append("SELECT c.name FROM customers c WHERE c.id NOT IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL)")
    q.append("SELECT t.store_id, t.total FROM (SELECT store_id, SUM(amount) AS total FROM orders GROUP BY store_id) t WHERE t.total > (SELECT AVG(amount) * 10 FROM orders)")
    # 6. set operations
    q.append("SELECT city FROM stores UNION SELECT city FROM customers ORDER BY city")
    q.append("SELECT customer_id FROM orders WHERE status = 'shipped' INTERSECT SELECT customer_id FROM orders WHERE status = 'returned'")
    q.append("SELECT 'store' AS kind, COUNT(*) AS n FROM stores UNION ALL SELECT 'customer', COUNT(*) FROM customers UNION ALL SELECT 'product', COUNT(*) FROM products")
    if d != "mysql":
        q.append("SELECT id FROM customers EXCEPT SELECT customer_id FROM orders")
    # 7. dialect string / date functions
    q.append(f"SELECT {LABEL[d]} AS label, COUNT(o.id) AS n FROM stores s LEFT JOIN orders o ON o.store_id = s.id GROUP BY s.city, s.name ORDER BY n DESC")
    q.append(f"SELECT {WEEKDAY[d]} AS weekday, COUNT(*) AS n, SUM(o.amount) AS revenue FROM orders o GROUP BY {WEEKDAY[d]}")
    q.append(f"SELECT o.status, AVG({DAYS_TO_SHIP[d]}) AS avg_days FROM orders o WHERE o.shipped_at IS NOT NULL GROUP BY o.status")
    q.append(f"SELECT {INITIAL[d]} AS initial, COUNT(*) AS n FROM products p GROUP BY {INITIAL[d]} ORDER BY initial")
    q.append(f"SELECT s.name, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id WHERE {RECENT[d]} GROUP BY s.name")
    q.append("SELECT p.category, ROUND(AVG(p.price), 2) AS avg_price, MIN(p.price) AS min_price, MAX(p.price) AS max_price FROM products p GROUP BY p.category HAVING COUNT(*) > 2")
    q.append("SELECT CASE WHEN o.amount < 50 THEN 'small' WHEN o.amount < 200 THEN 'medium' ELSE 'large' END AS bucket, COUNT(*) AS n FROM orders o GROUP BY CASE WHEN o.amount < 50 THEN 'small' WHEN o.amount < 200 THEN 'medium' ELSE 'large' END")
    q.append("SELECT COALESCE(s.region, 'unknown') AS region, COUNT(DISTINCT s.id) AS stores FROM stores s GROUP BY COALESCE(s.region, 'unknown')")
    q.append("SELECT e.title, COUNT(*) AS headcount, MIN(e.hired_at) AS first_hire FROM employees e GROUP BY e.title")
    q.append("SELECT e.name, s.name AS store FROM employees e JOIN stores s ON s.id = e.store_id WHERE e.title LIKE '%manager%' ORDER BY e.name")
    q.append("SELECT p.name, SUM(oi.quantity) AS units FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.name ORDER BY units DESC LIMIT 10")
    q.append("SELECT c.name, c.email, COUNT(o.id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.name, c.email")
    q.append("SELECT s.name, COUNT(*) FILTER (WHERE o.status = 'returned') AS returns FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name" if d == "postgres"
             else "SELECT s.name, SUM(CASE WHEN o.status = 'returned' THEN 1 ELSE 0 END) AS returns FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name")
    if d == "postgres":
        q += [
            "SELECT s.name, percentile_cont(0.5) WITHIN GROUP (ORDER BY o.amount) AS median_amount FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name",
            "SELECT string_agg(DISTINCT p.category, ', ' ORDER BY p.category) AS categories FROM products p",
            "SELECT o.id, o.amount::numeric(10,2) AS amount, o.ordered_at::date AS day FROM orders o WHERE o.ordered_at::date = CURRENT_DATE - 1",
            "SELECT generate_series AS day FROM generate_series(1, 7)",
            "SELECT s.name, array_agg(DISTINCT o.status) AS statuses FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name",
            "SELECT c.name FROM customers c WHERE c.name ILIKE 'a%' ORDER BY c.name FETCH FIRST 10 ROWS ONLY",
            "SELECT DISTINCT ON (o.customer_id) o.customer_id, o.id, o.ordered_at FROM orders o ORDER BY o.customer_id, o.ordered_at DESC",
            "SELECT date_part('dow', o.ordered_at) AS dow, COUNT(*) AS n FROM orders o GROUP BY 1 ORDER BY 1",
            "SELECT to_char(o.ordered_at, 'YYYY-MM') AS ym, SUM(o.amount) AS revenue FROM orders o GROUP BY 1 ORDER BY 1",
            "SELECT split_part(c.name, ' ', 1) AS first_name, COUNT(*) FROM customers c GROUP BY 1",
            "SELECT o.id, age(o.shipped_at, o.ordered_at) AS took FROM orders o WHERE o.shipped_at IS NOT NULL",
            "SELECT regexp_replace(p.name, '[^a-z]', '', 'g') AS slug FROM products p",
        ]
    if d == "mysql":
        q += [
            "SELECT s.name, GROUP_CONCAT(DISTINCT o.status ORDER BY o.status SEPARATOR ', ') AS statuses FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name",
            "SELECT DATE(o.ordered_at) AS day, COUNT(*) AS n FROM orders o GROUP BY DATE(o.ordered_at) ORDER BY day DESC LIMIT 30",
            "SELECT MONTHNAME(o.ordered_at) AS month, SUM(o.amount) AS revenue FROM orders o GROUP BY MONTHNAME(o.ordered_at)",
            "SELECT IFNULL(s.region, 'n/a') AS region, COUNT(*) AS n FROM stores s GROUP BY IFNULL(s.region, 'n/a')",
            "SELECT c.name, TIMESTAMPDIFF(DAY, c.created_at, NOW()) AS customer_days FROM customers c ORDER BY customer_days DESC LIMIT 5, 10",
            "SELECT SUBSTRING_INDEX(c.name, ' ', 1) AS first_name, COUNT(*) AS n FROM customers c GROUP BY first_name",
            "SELECT `o`.`id`, `o`.`amount` FROM `orders` AS `o` WHERE `o`.`amount` BETWEEN 10 AND 20",
            "SELECT WEEK(o.ordered_at) AS wk, ROUND(SUM(o.amount), 2) AS revenue FROM orders o GROUP BY WEEK(o.ordered_at)",
            "SELECT LPAD(CAST(p.id AS CHAR), 6, '0') AS sku, p.name FROM products p",
            "SELECT IF(o.amount > 100, 'big', 'small') AS size, COUNT(*) AS n FROM orders o GROUP BY size",
            "SELECT DATE_ADD(o.ordered_at, INTERVAL 30 DAY) AS due, o.id FROM orders o WHERE o.status = 'open'",
            "SELECT LOCATE('a', p.name) AS pos, p.name FROM products p WHERE p.name REGEXP '^[A-M]'",
        ]
    if d == "sqlite":
        q += [
            "SELECT s.name, group_concat(DISTINCT o.status) AS statuses FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name",
            "SELECT date(o.ordered_at) AS day, COUNT(*) AS n FROM orders o GROUP BY date(o.ordered_at) ORDER BY day DESC LIMIT 30",
            "SELECT strftime('%H', o.ordered_at) AS hour, COUNT(*) AS n FROM orders o GROUP BY hour",
            "SELECT ifnull(s.region, 'n/a') AS region, COUNT(*) AS n FROM stores s GROUP BY ifnull(s.region, 'n/a')",
            "SELECT c.name, CAST(julianday('now') - julianday(c.created_at) AS INTEGER) AS customer_days FROM customers c ORDER BY customer_days DESC LIMIT 10 OFFSET 5",
            "SELECT instr(c.name, ' ') AS space_at, c.name FROM customers c",
            "SELECT \"o\".\"id\", \"o\".\"amount\" FROM \"orders\" AS \"o\" WHERE \"o\".\"amount\" BETWEEN 10 AND 20",
            "SELECT printf('%.2f', SUM(o.amount)) AS revenue FROM orders o",
            "SELECT iif(o.amount > 100, 'big', 'small') AS size, COUNT(*) AS n FROM orders o GROUP BY size",
            "SELECT date(o.ordered_at, '+30 days') AS due, o.id FROM orders o WHERE o.status = 'open'",
            "SELECT replace(trim(p.name), ' ', '-') AS slug FROM products p",
            "SELECT value AS n FROM json_each('[1, 2, 3]')",
        ]
    return q


# Generated attacks: every denied function in several call forms, every catalog in several forms.
FUNCS = {
    "postgres": ["pg_sleep(10)", "pg_sleep_for('5 minutes')", "pg_read_file('/etc/passwd')", "pg_read_binary_file('/etc/passwd')",
                 "pg_ls_dir('.')", "pg_stat_file('postgresql.conf')", "lo_import('/etc/passwd')", "lo_export(1, '/tmp/x')",
                 "dblink('host=evil', 'select 1')", "query_to_xml('select * from staff_salaries', true, true, '')",
                 "set_config('statement_timeout', '0', false)", "current_setting('data_directory')", "nextval('orders_id_seq')",
                 "setval('orders_id_seq', 1)", "pg_advisory_lock(1)", "pg_terminate_backend(1)", "pg_cancel_backend(1)",
                 "pg_reload_conf()", "pg_notify('c', 'x')", "PG_CATALOG.PG_SLEEP(1)", "table_to_xml('customers', true, true, '')"],
    "mysql": ["SLEEP(10)", "BENCHMARK(10000000, MD5('x'))", "LOAD_FILE('/etc/passwd')", "GET_LOCK('x', 10)", "RELEASE_LOCK('x')",
              "EXTRACTVALUE(1, CONCAT(0x7e, VERSION()))", "UPDATEXML(1, CONCAT(0x7e, USER()), 1)", "sleep(1)"],
    "sqlite": ["load_extension('/tmp/evil.so')", "randomblob(1000000000)", "zeroblob(1000000000)", "readfile('/etc/passwd')",
               "writefile('/tmp/x', 'y')"],
}
FORMS = [
    "SELECT {f}",
    "SELECT id FROM products WHERE price > 0 AND {f} IS NOT NULL",
    "SELECT name FROM products ORDER BY {f}",
]
CATALOGS = {
    "postgres": ["pg_catalog.pg_authid", "pg_shadow", "pg_stat_activity", "information_schema.tables", "pg_user", "pg_settings", "PG_CATALOG.pg_class"],
    "mysql": ["mysql.user", "information_schema.columns", "performance_schema.threads", "sys.session", "INFORMATION_SCHEMA.TABLES"],
    "sqlite": ["sqlite_master", "sqlite_schema", "main.sqlite_master", "sqlite_temp_master", "SQLITE_MASTER"],
}


def attacks():
    out = []
    for d, funcs in FUNCS.items():
        for f in funcs:
            for form in FORMS:
                out.append((d, "function_denied", form.format(f=f)))
    for d in DIALECTS:
        for f in ["pg_sleep(5)", "sleep(5)", "load_extension('x')"]:
            out.append((d, "function_denied", f"SELECT name FROM products WHERE {f} IS NULL"))
    out.append(("sqlite", "function_denied", "SELECT * FROM pragma_table_info('customers')"))
    out.append(("sqlite", "catalog_access", "SELECT name FROM pragma_database_list"))
    out.append(("postgres", "function_denied", "SELECT * FROM dblink('host=evil', 'select 1') AS t(a int)"))
    out.append(("postgres", "function_denied", "SELECT * FROM pg_ls_dir('.') AS f"))
    for d, cats in CATALOGS.items():
        for c in cats:
            out.append((d, "catalog_access", f"SELECT * FROM {c}"))
            out.append((d, "catalog_access", f"SELECT name FROM products WHERE name IN (SELECT 1 FROM {c})"))
            out.append((d, "catalog_access", f"SELECT name FROM products UNION SELECT 1 FROM {c}"))
    return out


def main():
    with open(os.path.join(ROOT, "legit.tsv"), "w") as f:
        f.write("# generated by scripts/gen-guard-corpus.py: dialect<TAB>sql\n")
        for d in DIALECTS:
            for sql in legit(d):
                f.write(f"{d}\t{sql}\n")
    with open(os.path.join(ROOT, "attacks-generated.tsv"), "w") as f:
        f.write("# generated by scripts/gen-guard-corpus.py: dialect<TAB>expected<TAB>sql\n")
        for d, code, sql in attacks():
            f.write(f"{d}\t{code}\t{sql}\n")


if __name__ == "__main__":
    main()
