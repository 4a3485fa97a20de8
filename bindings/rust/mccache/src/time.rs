//! Time at the boundary: per-entry TTLs, entry versions and Unix-ms stamps.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mccache_sys as sys;

/// How long an entry lives after a put.
///
/// ```
/// use std::time::Duration;
/// use mccache::Ttl;
/// assert_eq!(Ttl::default(), Ttl::Default);
/// assert_eq!(Ttl::from(Duration::from_secs(30)), Ttl::After(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ttl {
    /// The cache's configured `cache_ttl`.
    #[default]
    Default,
    /// Never expires (it can still be evicted).
    Never,
    /// Expires this long after the put. Rounded up to whole milliseconds, and
    /// at least 1 ms, so that a tiny duration never means "the default".
    After(Duration),
}

impl Ttl {
    /// The C `ttl_ms` argument.
    #[inline]
    pub(crate) fn as_ms(self) -> i64 {
        match self {
            Ttl::Default => sys::MCCACHE_TTL_DEFAULT,
            Ttl::Never => sys::MCCACHE_TTL_NEVER,
            Ttl::After(d) => {
                let ms = d.as_nanos().div_ceil(1_000_000).max(1);
                i64::try_from(ms).unwrap_or(i64::MAX)
            }
        }
    }
}

impl From<Duration> for Ttl {
    fn from(d: Duration) -> Ttl {
        Ttl::After(d)
    }
}

/// The version of a write: a hybrid logical clock stamp and the writer's id.
/// Versions order writes cluster-wide: a higher `(hlc, node)` wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// 48-bit Unix milliseconds << 16 | a 16-bit counter.
    pub hlc: u64,
    /// The id of the node that made the write.
    pub node: u64,
}

impl Version {
    /// The wall-clock part of the stamp.
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.hlc >> 16)
    }
}

/// A Unix-ms stamp from the C API as a `SystemTime`.
pub(crate) fn from_unix_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// A stamp where 0 (or, with `never`, -1) means "none".
pub(crate) fn optional_unix_ms(ms: i64, none: i64) -> Option<SystemTime> {
    (ms != none).then(|| from_unix_ms(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_maps_to_the_c_argument() {
        assert_eq!(Ttl::Default.as_ms(), 0);
        assert_eq!(Ttl::Never.as_ms(), -1);
        assert_eq!(Ttl::After(Duration::from_secs(2)).as_ms(), 2000);
        assert_eq!(Ttl::After(Duration::ZERO).as_ms(), 1);
        assert_eq!(Ttl::After(Duration::from_micros(1500)).as_ms(), 2);
        assert_eq!(Ttl::After(Duration::MAX).as_ms(), i64::MAX);
    }

    #[test]
    fn unix_ms_conversions() {
        assert_eq!(from_unix_ms(1500), UNIX_EPOCH + Duration::from_millis(1500));
        assert_eq!(optional_unix_ms(0, 0), None);
        assert_eq!(optional_unix_ms(-1, -1), None);
        assert_eq!(
            optional_unix_ms(7, -1),
            Some(UNIX_EPOCH + Duration::from_millis(7))
        );
        let v = Version {
            hlc: (1000 << 16) | 3,
            node: 9,
        };
        assert_eq!(v.time(), UNIX_EPOCH + Duration::from_secs(1));
    }
}
