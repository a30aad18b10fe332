//! What a credential's expiring token came to: the lifetime asked for and the one the
//! server granted.

use std::time::Duration;

/// An expiring token's lifetime: asked for, and granted (read from the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub requested: Duration,
    /// Seconds since the epoch; `None` when the token carries no `exp` claim.
    pub expires_at: Option<i64>,
    /// When the token was issued (seconds since the epoch, from its `iat` claim or the clock).
    pub issued_at: i64,
}

impl Expiry {
    /// The lifetime the server actually granted.
    pub fn granted(&self) -> Option<Duration> {
        let seconds = self.expires_at? - self.issued_at;
        u64::try_from(seconds).ok().map(Duration::from_secs)
    }

    /// Whether the server granted noticeably less than was asked for.
    pub fn shortened(&self) -> bool {
        self.granted()
            .is_some_and(|granted| granted.as_secs() + 60 < self.requested.as_secs())
    }
}
