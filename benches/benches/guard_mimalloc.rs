//! Guard throughput with mimalloc, the allocator the Python and Node packages ship with; see
//! `aigis_benches::guard_corpus`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    aigis_benches::guard_corpus::run("mimalloc");
}
