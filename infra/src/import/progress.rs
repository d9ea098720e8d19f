//! Progress on stderr: a bar redrawn in place on a terminal, else a plain
//! line every few seconds (and one when a wait begins), for logs.

use std::io::Write;
use std::time::{Duration, Instant};

/// Where the import stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    pub replayed: usize,
    pub rejected: usize,
    pub failed: usize,
}

impl Counts {
    pub fn done(&self) -> usize {
        self.accepted + self.replayed + self.rejected + self.failed
    }
}

pub struct Progress {
    tty: bool,
    total: usize,
    started: Instant,
    last: Option<Instant>,
    last_wait: Option<String>,
    drawn: bool,
}

const TTY_EVERY: Duration = Duration::from_millis(100);
const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    pub fn new(total: usize, tty: bool) -> Self {
        Progress {
            tty,
            total,
            started: Instant::now(),
            last: None,
            last_wait: None,
            drawn: false,
        }
    }

    /// Called often; draws when it is time. `waiting`: why the import is
    /// waiting (a rate limit) and for how long yet.
    pub fn tick(
        &mut self,
        err: &mut dyn Write,
        counts: &Counts,
        waiting: Option<(Duration, &str)>,
    ) {
        let now = Instant::now();
        let wait_began = waiting.is_some_and(|(_, why)| self.last_wait.as_deref() != Some(why));
        self.last_wait = waiting.map(|(_, why)| why.to_string());
        let every = if self.tty { TTY_EVERY } else { PLAIN_EVERY };
        if !wait_began && self.last.is_some_and(|t| now - t < every) {
            return;
        }
        self.last = Some(now);
        let line = self.line(counts, waiting, !self.tty);
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Clears the bar (the summary follows on stdout).
    pub fn finish(&mut self, err: &mut dyn Write) {
        if self.tty && self.drawn {
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn line(&self, c: &Counts, waiting: Option<(Duration, &str)>, plain: bool) -> String {
        let done = c.done();
        let pct = (done * 100).checked_div(self.total).unwrap_or(100);
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let mut line = if plain {
            format!(
                "import: {done}/{} rows ({pct}%): {} accepted, {} replayed, {} rejected, {} failed; {rate:.1} rows/s",
                self.total, c.accepted, c.replayed, c.rejected, c.failed
            )
        } else {
            const WIDTH: usize = 24;
            let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
            format!(
                "[{}{}] {done}/{} {pct:>3}% · {} rejected · {} failed · {rate:.1} rows/s",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled),
                self.total,
                c.rejected,
                c.failed
            )
        };
        if let Some((left, why)) = waiting {
            line.push_str(&format!(
                "{}waiting {} s: {why}",
                if plain { "; " } else { " · " },
                left.as_secs() + 1
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_the_counts_and_a_wait_at_once() {
        let mut p = Progress::new(10, false);
        let mut err = Vec::new();
        let c = Counts {
            accepted: 3,
            replayed: 1,
            rejected: 1,
            failed: 0,
        };
        p.tick(&mut err, &c, None);
        p.tick(&mut err, &c, None); // too soon: nothing
        p.tick(
            &mut err,
            &c,
            Some((Duration::from_millis(41_500), "rate limited")),
        );
        p.finish(&mut err);
        let text = String::from_utf8(err).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with(
                "import: 5/10 rows (50%): 3 accepted, 1 replayed, 1 rejected, 0 failed;"
            ),
            "{text}"
        );
        assert!(lines[1].ends_with("; waiting 42 s: rate limited"), "{text}");
    }

    #[test]
    fn a_terminal_gets_a_bar_redrawn_in_place_and_cleared() {
        let mut p = Progress::new(4, true);
        let mut err = Vec::new();
        let c = Counts {
            accepted: 2,
            ..Counts::default()
        };
        p.tick(&mut err, &c, None);
        p.finish(&mut err);
        let text = String::from_utf8(err).unwrap();
        assert!(
            text.starts_with(
                "\r\x1b[2K[############------------] 2/4  50% · 0 rejected · 0 failed"
            ),
            "{text:?}"
        );
        assert!(
            text.ends_with("\r\x1b[2K") && !text.contains('\n'),
            "{text:?}"
        );
    }
}
