//! Names that do not collide: tests run in parallel in one process and share a cluster.

use std::sync::atomic::{AtomicU64, Ordering};

/// A DNS-1123 label, unique within this process and (with overwhelming probability) across
/// test runs on the same cluster: `<prefix>-<5 random chars><counter>`.
pub fn unique_name(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::OnceLock;
    static RUN: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let run = RUN.get_or_init(|| {
        // RandomState is seeded randomly per process; mix in time and pid for good measure.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_u32(std::process::id());
        let mut s = base36(h.finish());
        s.truncate(5);
        s
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("{run}{}", base36(n));
    let mut p: String = prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    p.truncate(63 - 1 - suffix.len());
    let p = p.trim_matches('-');
    let p = if p.is_empty() { "t" } else { p };
    format!("{p}-{suffix}")
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}
