//! Login throttling: failed attempts counted per user name and per client address in a window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures; once a key reaches its limit it is refused until the window passes.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    per_user: u32,
    per_addr: u32,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// A throttle allowing `per_user` failures per user name and `per_addr` per address per window.
    pub fn new(window: Duration, per_user: u32, per_addr: u32) -> Self {
        Self { window, per_user, per_addr, failures: Mutex::new(HashMap::new()) }
    }

    fn keys(user: &str, addr: &str) -> [String; 2] {
        [format!("u:{}", user.to_lowercase()), format!("a:{addr}")]
    }

    /// Whether another attempt for this user from this address is allowed now.
    pub fn allowed(&self, user: &str, addr: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (_, since)| now.duration_since(*since) < self.window);
        let [u, a] = Self::keys(user, addr);
        map.get(&u).is_none_or(|(n, _)| *n < self.per_user) && map.get(&a).is_none_or(|(n, _)| *n < self.per_addr)
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str, addr: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for k in Self::keys(user, addr) {
            map.entry(k).or_insert((0, now)).0 += 1;
        }
    }

    /// Forgets a user's failures after a successful login.
    pub fn succeeded(&self, user: &str) {
        let [u, _] = Self::keys(user, "");
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&u);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_user_and_per_address() {
        let t = Throttle::new(Duration::from_secs(60), 2, 3);
        t.failed("bob", "1.1.1.1");
        t.failed("BOB", "2.2.2.2");
        assert!(!t.allowed("bob", "3.3.3.3"), "per user, whatever the address");
        assert!(t.allowed("carol", "1.1.1.1"));
        t.failed("carol", "1.1.1.1");
        t.failed("dave", "1.1.1.1");
        assert!(!t.allowed("erin", "1.1.1.1"), "per address, whatever the user");
        t.succeeded("bob");
        assert!(t.allowed("bob", "3.3.3.3"));
    }
}
