//! Slowing down password guessing, per account and per client address,
//! without letting a stranger lock a user out of the right password.
//!
//! Three windows count failed sign-ins (see RELIABILITY.md, "Sign-in,
//! sessions, headers"):
//! - an account from one address: [`PAIR_MAX`] failures lock that address
//!   out of that account;
//! - one address over all accounts: [`ADDRESS_MAX`] failures lock the
//!   address out of signing in at all (password spraying);
//! - one account from all addresses: [`ACCOUNT_MAX`] failures lock the
//!   account for everyone (a distributed attack).
//!
//! Each lock lasts [`LOCK`]; a window forgets its failures [`LOCK`] after
//! the last one, so a lock always decays. An attempt is counted when it
//! starts, under one mutex, before the password is hashed: parallel
//! guesses cannot check more passwords than the limit. Unknown usernames
//! are counted like known ones, so the answers do not tell them apart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one account from one address before that address is locked
/// out of the account.
pub const PAIR_MAX: u32 = 5;
/// Failures from one address (any accounts) before it is locked out.
pub const ADDRESS_MAX: u32 = 30;
/// Failures of one account (any addresses) before it is locked for all.
pub const ACCOUNT_MAX: u32 = 50;
/// How long a lock lasts, and how long a window remembers a failure.
pub const LOCK: Duration = Duration::from_secs(15 * 60);
/// Windows kept at most (older ones are dropped first when full).
const MAX_WINDOWS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Window {
    fn fresh(now: Instant) -> Self {
        Window {
            failures: 0,
            last: now,
            locked_until: None,
        }
    }

    /// Forgets failures once the lock has ended and the last failure is
    /// older than [`LOCK`].
    fn decay(&mut self, now: Instant) {
        let lock_over = self.locked_until.is_none_or(|t| t <= now);
        if lock_over && now.duration_since(self.last) >= LOCK {
            *self = Window::fresh(now);
        } else if lock_over {
            self.locked_until = None;
        }
    }

    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|t| *t > now).map(|t| t - now)
    }

    fn count(&mut self, now: Instant, max: u32) {
        self.failures += 1;
        self.last = now;
        if self.failures >= max {
            self.locked_until = Some(now + LOCK);
        }
    }
}

#[derive(Default)]
struct State {
    pairs: HashMap<(String, IpAddr), Window>,
    addresses: HashMap<IpAddr, Window>,
    accounts: HashMap<String, Window>,
}

/// Failed sign-in counters of this process.
#[derive(Default)]
pub struct Throttle {
    state: Mutex<State>,
}

/// A sign-in that may go ahead; it has already been counted as a failure
/// and is forgotten by [`Throttle::succeeded`].
#[derive(Debug)]
pub struct Attempt {
    /// Failures of this account from this address, this one included.
    pub failures: u32,
}

fn entry<K: std::hash::Hash + Eq + Clone>(map: &mut HashMap<K, Window>, key: &K, now: Instant) -> Window {
    if map.len() >= MAX_WINDOWS && !map.contains_key(key) {
        map.retain(|_, w| w.locked(now).is_some() || now.duration_since(w.last) < LOCK);
    }
    let w = map.entry(key.clone()).or_insert_with(|| Window::fresh(now));
    w.decay(now);
    *w
}

impl Throttle {
    /// Counts an attempt of `username` from `address`, or says how long to
    /// wait when a lock applies.
    pub fn begin(&self, username: &str, address: IpAddr) -> Result<Attempt, Duration> {
        let now = Instant::now();
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pair_key = (username.to_owned(), address);
        let user_key = username.to_owned();
        let pair = entry(&mut s.pairs, &pair_key, now);
        let addr = entry(&mut s.addresses, &address, now);
        let account = entry(&mut s.accounts, &user_key, now);
        if let Some(wait) = [pair, addr, account].iter().filter_map(|w| w.locked(now)).max() {
            return Err(wait);
        }
        let mut failures = 0;
        if let Some(w) = s.pairs.get_mut(&pair_key) {
            w.count(now, PAIR_MAX);
            failures = w.failures;
        }
        if let Some(w) = s.addresses.get_mut(&address) {
            w.count(now, ADDRESS_MAX);
        }
        if let Some(w) = s.accounts.get_mut(&user_key) {
            w.count(now, ACCOUNT_MAX);
        }
        Ok(Attempt { failures })
    }

    /// The attempt was right: the account's counters start again (the
    /// address keeps its count, which only spraying fills).
    pub fn succeeded(&self, username: &str, address: IpAddr) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.pairs.remove(&(username.to_owned(), address));
        s.accounts.remove(username);
        if let Some(w) = s.addresses.get_mut(&address) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// Whether the last attempt locked the account from this address.
    pub fn is_locked(&self, username: &str, address: IpAddr) -> bool {
        let now = Instant::now();
        let s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        [
            s.pairs.get(&(username.to_owned(), address)),
            s.addresses.get(&address),
            s.accounts.get(username),
        ]
        .into_iter()
        .flatten()
        .any(|w| w.locked(now).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn five_failures_lock_one_address_out_of_one_account_only() {
        let t = Throttle::default();
        for i in 1..=PAIR_MAX {
            assert_eq!(t.begin("admin", A).map(|a| a.failures), Ok(i));
        }
        assert!(t.begin("admin", A).is_err(), "locked from A");
        assert!(t.begin("admin", B).is_ok(), "the user's own address is not locked");
        assert!(t.begin("other", A).is_ok(), "other accounts from A are not locked");
    }

    #[test]
    fn many_addresses_lock_the_account_for_everyone() {
        let t = Throttle::default();
        for i in 0..ACCOUNT_MAX {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a01_0000 + i));
            assert!(t.begin("admin", ip).is_ok());
        }
        assert!(t.begin("admin", B).is_err());
    }

    #[test]
    fn spraying_from_one_address_locks_the_address() {
        let t = Throttle::default();
        for i in 0..ADDRESS_MAX {
            assert!(t.begin(&format!("user{i}"), A).is_ok());
        }
        assert!(t.begin("someone", A).is_err());
        assert!(t.begin("someone", B).is_ok());
    }

    #[test]
    fn a_success_clears_the_account() {
        let t = Throttle::default();
        for _ in 1..PAIR_MAX {
            assert!(t.begin("admin", A).is_ok());
        }
        t.succeeded("admin", A);
        assert_eq!(t.begin("admin", A).map(|a| a.failures), Ok(1));
    }

    #[test]
    fn a_lock_decays() {
        let now = Instant::now();
        let mut w = Window::fresh(now);
        for _ in 0..PAIR_MAX {
            w.count(now, PAIR_MAX);
        }
        assert!(w.locked(now).is_some());
        let later = now + LOCK + Duration::from_secs(1);
        w.decay(later);
        assert_eq!((w.failures, w.locked(later)), (0, None), "the count starts again");
    }
}
