//! When the cuts of a chaos run happen, and which messages were due during one.

use crate::LoadError;

/// One cut: the link is down from `start_s` to `end_s`, in seconds after the
/// first due send of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    pub start_s: f64,
    pub end_s: f64,
}

impl Cut {
    pub fn contains(&self, t_s: f64) -> bool {
        self.start_s <= t_s && t_s < self.end_s
    }
}

/// When the cuts of a run happen: cut *k* (k = 1, 2, …) starts `k × every`
/// seconds into the sending, once the load is steady, and lasts `cut` seconds.
/// Every cut is restored before the last send, so that the drain after it
/// decides what was lost; with no `cuts` count, as many as fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    cuts: Vec<Cut>,
}

impl Schedule {
    pub fn plan(
        duration_s: f64,
        cut_s: f64,
        every_s: f64,
        cuts: Option<u32>,
    ) -> Result<Schedule, LoadError> {
        if !(cut_s.is_finite() && cut_s > 0.0) {
            return Err(LoadError::new(
                "--chaos-cut must be a positive number of seconds",
            ));
        }
        if !(every_s.is_finite() && every_s > cut_s) {
            return Err(LoadError::new(format!(
                "--chaos-every ({every_s} s) must be longer than --chaos-cut ({cut_s} s): cuts must not overlap"
            )));
        }
        if cuts == Some(0) {
            return Err(LoadError::new("--chaos-cuts must be at least 1"));
        }
        let fits = |k: u32| f64::from(k) * every_s + cut_s <= duration_s;
        let wanted = match cuts {
            Some(n) => {
                if !fits(n) {
                    return Err(LoadError::new(format!(
                        "--chaos-cuts {n} with a {cut_s} s cut every {every_s} s needs --duration of at least {} s \
                         (cut k starts k × --chaos-every into the sending and must be restored before the last send)",
                        f64::from(n) * every_s + cut_s
                    )));
                }
                n
            }
            None => {
                let mut n = 0;
                while fits(n + 1) {
                    n += 1;
                }
                if n == 0 {
                    return Err(LoadError::new(format!(
                        "no cut fits in --duration {duration_s} s: the first cut starts at --chaos-every ({every_s} s) \
                         and lasts --chaos-cut ({cut_s} s), so --duration must be at least {} s",
                        every_s + cut_s
                    )));
                }
                n
            }
        };
        let cuts = (1..=wanted)
            .map(|k| {
                let start_s = f64::from(k) * every_s;
                Cut {
                    start_s,
                    end_s: start_s + cut_s,
                }
            })
            .collect();
        Ok(Schedule { cuts })
    }

    pub fn cuts(&self) -> &[Cut] {
        &self.cuts
    }

    /// Whether `t_s` (seconds after the first due send) falls in a cut.
    pub fn during_cut(&self, t_s: f64) -> bool {
        self.cuts.iter().any(|c| c.contains(t_s))
    }

    /// The cuts as half-open windows of nanoseconds since `origin_ns`.
    pub fn windows_ns(&self, origin_ns: u64) -> Vec<(u64, u64)> {
        let ns = |s: f64| origin_ns + (s * 1e9) as u64;
        self.cuts
            .iter()
            .map(|c| (ns(c.start_s), ns(c.end_s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(schedule: &Schedule) -> Vec<(f64, f64)> {
        schedule
            .cuts()
            .iter()
            .map(|c| (c.start_s, c.end_s))
            .collect()
    }

    #[test]
    fn the_first_cut_starts_one_period_in_and_as_many_as_fit_follow() {
        let s = Schedule::plan(60.0, 5.0, 15.0, None).unwrap();
        assert_eq!(starts(&s), [(15.0, 20.0), (30.0, 35.0), (45.0, 50.0)]);
        // A cut ending exactly at the last send still fits.
        let s = Schedule::plan(15.0, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0), (10.0, 12.0)]);
        let s = Schedule::plan(12.0, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0), (10.0, 12.0)]);
        let s = Schedule::plan(11.9, 2.0, 5.0, None).unwrap();
        assert_eq!(starts(&s), [(5.0, 7.0)]);
    }

    #[test]
    fn a_cut_count_is_kept_or_refused_with_the_duration_it_needs() {
        let s = Schedule::plan(60.0, 5.0, 15.0, Some(2)).unwrap();
        assert_eq!(starts(&s), [(15.0, 20.0), (30.0, 35.0)]);
        let err = Schedule::plan(40.0, 5.0, 15.0, Some(3)).unwrap_err();
        assert!(err.to_string().contains("at least 50 s"), "{err}");
    }

    #[test]
    fn schedules_that_cannot_work_are_refused() {
        let cases: &[(f64, f64, f64, Option<u32>, &str)] = &[
            (10.0, 5.0, 15.0, None, "at least 20 s"),
            (60.0, 0.0, 15.0, None, "--chaos-cut must be"),
            (60.0, f64::NAN, 15.0, None, "--chaos-cut must be"),
            (60.0, 5.0, 5.0, None, "must not overlap"),
            (60.0, 5.0, 2.0, None, "must not overlap"),
            (60.0, 5.0, 15.0, Some(0), "at least 1"),
        ];
        for &(duration, cut, every, count, expected) in cases {
            let err = Schedule::plan(duration, cut, every, count)
                .expect_err(&format!("{duration} {cut} {every} {count:?} is refused"));
            assert!(
                err.to_string().contains(expected),
                "{duration} {cut} {every} {count:?}: {err}"
            );
        }
    }

    #[test]
    fn messages_are_attributed_to_a_cut_by_a_half_open_window() {
        let s = Schedule::plan(15.0, 2.0, 5.0, None).unwrap();
        for (t, during) in [
            (4.999, false),
            (5.0, true),
            (6.9, true),
            (7.0, false),
            (10.5, true),
            (14.0, false),
        ] {
            assert_eq!(s.during_cut(t), during, "t = {t}");
        }
        assert_eq!(
            s.windows_ns(200_000_000),
            [
                (5_200_000_000, 7_200_000_000),
                (10_200_000_000, 12_200_000_000)
            ]
        );
    }
}
