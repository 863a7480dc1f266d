//! `--shard I/N`: which part of a campaign one machine of N runs.

use std::fmt;
use std::str::FromStr;

/// One part of a campaign split by operation over `count` machines (1-based `index`).
///
/// Operations are sorted by their `METHOD /path` label and dealt round-robin: the first goes to
/// shard 1, the second to shard 2, and so on. Every machine of a CI matrix loads the same spec,
/// so together the N shards attack every operation exactly once.
///
/// ```
/// use tenantfuzz::config::Shard;
///
/// let shard: Shard = "2/3".parse().unwrap();
/// assert_eq!((shard.index(), shard.count()), (2, 3));
/// assert!("0/3".parse::<Shard>().is_err());
/// assert!("4/3".parse::<Shard>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless `1 <= index <= count`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }

    /// This shard's number, from 1.
    pub fn index(self) -> usize {
        self.index
    }

    /// How many shards there are.
    pub fn count(self) -> usize {
        self.count
    }

    /// Whether the operation at `position` among the labels sorted is this shard's.
    pub fn owns(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("'{text}' is not a shard: expected I/N with 1 <= I <= N, like 2/3");
        let (i, n) = text.split_once('/').ok_or_else(usage)?;
        let i: usize = i.trim().parse().map_err(|_| usage())?;
        let n: usize = n.trim().parse().map_err(|_| usage())?;
        Shard::new(i, n).ok_or_else(usage)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        assert_eq!(
            " 3 / 4".parse::<Shard>().map(|s| s.to_string()),
            Ok("3/4".into())
        );
        for bad in ["", "1", "0/2", "3/2", "a/2", "1/0", "-1/2", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_split_positions_exactly_once() {
        for n in 1..5 {
            for p in 0..20 {
                let owners = (1..=n)
                    .filter(|i| Shard::new(*i, n).expect("1 <= i <= n").owns(p))
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }
}
