//! Showing a running campaign's progress: an indicatif bar (phase, work done, requests, rate,
//! violations) when stderr is a terminal; plain log lines on each phase change and every few
//! seconds otherwise (CI logs); nothing with `-q`. Reads [`Progress`] snapshots and nothing else.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::campaign::{Phase, Progress, Snapshot};

/// How much the command line says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verbosity {
    /// `-q`: no progress and no summary; errors only (the exit code and files tell the rest).
    pub quiet: bool,
    /// `-v` (info logs), `-vv` (debug logs).
    pub verbose: u8,
}

/// A running display; [`Display::finish`] stops it.
pub(crate) struct Display {
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// How often plain log lines are written when nothing else happens.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The counts: `3/10 probes, 42 requests (120/s), 2 violations seen`.
fn counts(s: &Snapshot, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let work = if s.total > 0 {
        format!("{}/{} {}, ", s.done, s.total, s.phase.unit())
    } else {
        String::new()
    };
    format!(
        "{work}{} requests ({:.0}/s), {} violations seen",
        s.requests,
        s.requests as f64 / secs,
        s.violations
    )
}

/// A log line: the phase, then the counts (none before anything was sent).
fn line(s: &Snapshot, started: Instant) -> String {
    if s.requests == 0 && s.done == 0 && s.violations == 0 {
        return format!("{} started", s.phase.as_str());
    }
    format!("{}: {}", s.phase.as_str(), counts(s, started))
}

/// Starts the display for a run. Must be called inside the tokio runtime.
pub(crate) fn start(progress: Arc<Progress>, verbosity: Verbosity) -> Display {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    if verbosity.quiet {
        return Display { stop, task: None };
    }
    let terminal = std::io::stderr().is_terminal();
    let task = tokio::spawn(async move {
        let started = Instant::now();
        if terminal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:>12} [{bar:30}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            loop {
                let s = progress.snapshot();
                bar.set_prefix(s.phase.as_str());
                bar.set_length(s.total.max(1));
                bar.set_position(s.done.min(s.total.max(1)));
                bar.set_message(counts(&s, started));
                bar.tick();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = stopped.changed() => break,
                }
            }
            bar.finish_and_clear();
        } else {
            let mut written: Vec<Phase> = Vec::new();
            let mut last_line = Instant::now();
            loop {
                // A phase that started and ended between two looks still gets its line (read
                // before the snapshot, so the snapshot's phase is never older than these).
                let entered = progress.entered();
                let s = progress.snapshot();
                for &phase in &entered {
                    if !written.contains(&phase) && phase != s.phase && phase != Phase::Done {
                        eprintln!("tenantfuzz: {} started", phase.as_str());
                    }
                }
                if !written.contains(&s.phase) || last_line.elapsed() >= LOG_EVERY {
                    if s.phase != Phase::Done {
                        eprintln!("tenantfuzz: {}", line(&s, started));
                    }
                    last_line = Instant::now();
                }
                written = entered;
                if !written.contains(&s.phase) {
                    written.push(s.phase);
                }
                // A phase change is written when it happens, however short the phase.
                tokio::select! {
                    _ = progress.changed() => {}
                    _ = tokio::time::sleep(LOG_EVERY) => {}
                    _ = stopped.changed() => break,
                }
            }
            let s = progress.snapshot();
            eprintln!(
                "tenantfuzz: {} in {:.1} s",
                line(&s, started),
                started.elapsed().as_secs_f64()
            );
        }
    });
    Display {
        stop,
        task: Some(task),
    }
}

impl Display {
    /// Stops the display and clears the bar.
    pub(crate) async fn finish(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_phase_and_the_counts() {
        let s = Snapshot {
            phase: Phase::Systematic,
            done: 3,
            total: 10,
            requests: 42,
            violations: 2,
        };
        let text = line(&s, Instant::now());
        assert!(
            text.starts_with("systematic: 3/10 probes, 42 requests ("),
            "{text}"
        );
        assert!(text.ends_with("2 violations seen"), "{text}");
        let nothing_yet = Snapshot {
            phase: Phase::Discovery,
            done: 0,
            total: 0,
            requests: 0,
            violations: 0,
        };
        assert_eq!(line(&nothing_yet, Instant::now()), "discovery started");
    }
}
