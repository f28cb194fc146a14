//! Guard throughput with the system allocator; see `aigis_benches::guard_corpus`.

fn main() {
    aigis_benches::guard_corpus::run("system");
}
