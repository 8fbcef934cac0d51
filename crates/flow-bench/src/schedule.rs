//! Which experiments a `reproduce` call runs, and in what order.
//!
//! - **Shards** (`--shard I/N`): the selected experiments are sorted by id (byte order) and
//!   the one at position `p` (0-based) belongs to shard `p mod N + 1`. A share therefore
//!   depends only on the set of selected ids and `N`, not on the registry's order or the
//!   order of `--experiment` flags, shares differ in size by at most one, and the `N` shares
//!   of one selection are disjoint and cover it. Every shard of a cluster run must use the
//!   same selection, mode, seed and `--set` (and the same build); `flows report` then merges
//!   their folders.
//! - **Phases**: experiments that measure time ([`crate::Experiment::measures_time`]) run
//!   first, one at a time on a single worker, so nothing else runs beside them; the others then
//!   share `--threads` workers. A phase starts only after every job of the previous one has
//!   finished.

use std::fmt;
use std::str::FromStr;

use crate::error::BenchError;

/// Share `index` of `count` (1-based: `1/2` and `2/2` split a run in two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole selection (what `reproduce` runs without `--shard`).
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Share `index` of `count`.
    ///
    /// # Errors
    /// [`BenchError::BadArgument`] unless `1 ≤ index ≤ count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, BenchError> {
        let bad = |why: String| BenchError::BadArgument {
            arg: format!("--shard {index}/{count}"),
            why,
        };
        if count == 0 {
            return Err(bad(
                "the shard count N must be at least 1 (I/N with 1 ≤ I ≤ N, e.g. 1/2 and 2/2)"
                    .into(),
            ));
        }
        if index == 0 || index > count {
            return Err(bad(format!(
                "the shard index I counts from 1 to N = {count} (I/N with 1 ≤ I ≤ N, e.g. 1/{count} … {count}/{count})"
            )));
        }
        Ok(Shard { index, count })
    }

    /// The 1-based index `I`.
    pub fn index(self) -> usize {
        self.index
    }

    /// The number of shards `N`.
    pub fn count(self) -> usize {
        self.count
    }

    /// This shard's share of `items` (see the module docs), in the order of `items`.
    pub fn select<T>(self, items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        let mut ids: Vec<String> = items.iter().map(|t| id(t).to_string()).collect();
        ids.sort();
        items
            .into_iter()
            .filter(|t| {
                let rank = ids.partition_point(|x| x.as_str() < id(t));
                rank % self.count == self.index - 1
            })
            .collect()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = BenchError;

    /// Parses `I/N`.
    fn from_str(s: &str) -> Result<Shard, BenchError> {
        let number = |t: &str| t.trim().parse::<usize>().ok();
        match s.split_once('/').map(|(i, n)| (number(i), number(n))) {
            Some((Some(i), Some(n))) => Shard::new(i, n),
            _ => Err(BenchError::BadArgument {
                arg: format!("--shard {s}"),
                why: "expected I/N with whole numbers 1 ≤ I ≤ N, e.g. 2/4 for the second of four shares".into(),
            }),
        }
    }
}

/// For clap: [`Shard::from_str`] with the error as text.
///
/// # Errors
/// The message of [`Shard::from_str`]'s error.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse().map_err(|e: BenchError| e.to_string())
}

/// A group of jobs that runs after the previous group has finished.
#[derive(Debug, PartialEq, Eq)]
pub struct Phase<T> {
    /// Jobs in start order.
    pub jobs: Vec<T>,
    /// Worker threads (1 for timing experiments).
    pub workers: usize,
    /// Whether each job runs with nothing else running.
    pub alone: bool,
}

/// The phases of a run: the jobs that measure time first, alone on one worker, then the rest
/// on `threads` workers; empty phases are left out, order within a phase is kept.
pub fn plan<T>(jobs: Vec<T>, measures_time: impl Fn(&T) -> bool, threads: usize) -> Vec<Phase<T>> {
    let (timed, shared): (Vec<T>, Vec<T>) = jobs.into_iter().partition(|j| measures_time(j));
    let phases = [
        Phase {
            jobs: timed,
            workers: 1,
            alone: true,
        },
        Phase {
            jobs: shared,
            workers: threads.max(1),
            alone: false,
        },
    ];
    phases.into_iter().filter(|p| !p.jobs.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::{Phase, Shard, plan};
    use crate::error::BenchError;

    /// (id, measures time)
    const JOBS: [(&str, bool); 6] = [
        ("b", false),
        ("step-time", true),
        ("a", false),
        ("vmf-speed", true),
        ("d", false),
        ("c", false),
    ];

    #[test]
    fn timing_jobs_run_first_alone_on_one_worker() {
        let phases = plan(JOBS.to_vec(), |j| j.1, 2);
        assert_eq!(phases.len(), 2);
        assert_eq!(
            phases[0],
            Phase {
                jobs: vec![("step-time", true), ("vmf-speed", true)],
                workers: 1,
                alone: true
            }
        );
        assert_eq!(phases[1].workers, 2);
        assert!(!phases[1].alone);
        let rest: Vec<&str> = phases[1].jobs.iter().map(|j| j.0).collect();
        assert_eq!(rest, ["b", "a", "d", "c"]);
        // No timing job: one shared phase; only timing jobs: one phase of one worker.
        let plain = plan(vec![("a", false)], |j| j.1, 3);
        assert_eq!((plain.len(), plain[0].workers), (1, 3));
        let timed = plan(vec![("t", true), ("u", true)], |j| j.1, 8);
        assert_eq!(
            (timed.len(), timed[0].workers, timed[0].alone),
            (1, 1, true)
        );
        assert!(plan(Vec::<(&str, bool)>::new(), |j| j.1, 2).is_empty());
    }

    fn share(shard: Shard, ids: &[&'static str]) -> Vec<&'static str> {
        shard.select(ids.to_vec(), |s| s)
    }

    #[test]
    fn shards_partition_the_selection_whatever_its_order() {
        let ids = ["e", "a", "c", "f", "b", "d", "g"];
        let mut reversed = ids;
        reversed.reverse();
        for n in 1..=9 {
            let mut all: Vec<&str> = Vec::new();
            for i in 1..=n {
                let shard = Shard::new(i, n).unwrap();
                let mine = share(shard, &ids);
                let mut sorted = mine.clone();
                sorted.sort();
                let mut from_reversed = share(shard, &reversed);
                from_reversed.sort();
                assert_eq!(sorted, from_reversed, "shard {shard} depends on the order");
                let fair = ids.len() / n;
                assert!(
                    mine.len() == fair || mine.len() == fair + 1,
                    "{shard}: {mine:?}"
                );
                all.extend(mine);
            }
            all.sort();
            let mut want = ids.to_vec();
            want.sort();
            assert_eq!(all, want, "the {n} shards do not partition the selection");
        }
        assert_eq!(share(Shard::new(2, 3).unwrap(), &ids), ["e", "b"]);
        assert_eq!(share(Shard::WHOLE, &ids), ids);
    }

    #[test]
    fn shard_text_parses_or_gives_a_typed_error() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard::new(2, 4).unwrap());
        assert_eq!(" 1 / 1 ".parse::<Shard>().unwrap(), Shard::WHOLE);
        assert_eq!(Shard::new(3, 5).unwrap().to_string(), "3/5");
        for (text, needle) in [
            ("0/2", "counts from 1"),
            ("3/2", "counts from 1 to N = 2"),
            ("1/0", "at least 1"),
            ("junk", "expected I/N"),
            ("1/2/3", "expected I/N"),
            ("-1/2", "expected I/N"),
            ("", "expected I/N"),
        ] {
            let e = text.parse::<Shard>().unwrap_err();
            assert!(matches!(e, BenchError::BadArgument { .. }), "{text}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(needle) && msg.starts_with("--shard"),
                "{text}: {msg}"
            );
            assert_eq!(e.exit_code(), 2);
        }
    }
}
