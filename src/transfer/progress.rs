//! Progress of a transfer: a bar on a terminal, log lines otherwise (a service manager's journal,
//! a test reading stderr).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub trait Progress {
    /// The copy begins; `rows` in all tables.
    fn start(&mut self, rows: u64);
    /// Table `name` begins, with `rows` rows.
    fn table(&mut self, name: &'static str, rows: u64);
    /// `n` more rows of the current table are in.
    fn advance(&mut self, n: u64);
    /// The copy is over (called again after a failure: a second call does nothing).
    fn finish(&mut self);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: u64) {}
    fn table(&mut self, _: &'static str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// A bar when stderr is a terminal, else log lines.
pub fn stderr_progress() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar(None))
    } else {
        Box::new(Lines::default())
    }
}

struct Bar(Option<ProgressBar>);

impl Progress for Bar {
    fn start(&mut self, rows: u64) {
        let bar = ProgressBar::with_draw_target(Some(rows), ProgressDrawTarget::stderr());
        // The template is a constant; should it ever be refused, the default style still works.
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:<24} [{bar:40}] {human_pos}/{human_len} rows, {per_sec}, {eta} left",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        self.0 = Some(bar);
    }

    fn table(&mut self, name: &'static str, _: u64) {
        if let Some(bar) = &self.0 {
            bar.set_message(name);
        }
    }

    fn advance(&mut self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// A line per table, and one per 10,000 rows within a table.
#[derive(Default)]
struct Lines {
    table: &'static str,
    rows: u64,
    done: u64,
    total: u64,
    copied: u64,
    started: bool,
    finished: bool,
}

const ROWS_PER_LINE: u64 = 10_000;

impl Progress for Lines {
    fn start(&mut self, rows: u64) {
        self.started = true;
        self.total = rows;
        tracing::info!(rows, "copying");
    }

    fn table(&mut self, name: &'static str, rows: u64) {
        self.table = name;
        self.rows = rows;
        self.done = 0;
        if rows > 0 {
            tracing::info!(table = name, rows, "copying table");
        }
    }

    fn advance(&mut self, n: u64) {
        let before = self.done / ROWS_PER_LINE;
        self.done += n;
        self.copied += n;
        if self.done / ROWS_PER_LINE > before && self.done < self.rows {
            tracing::info!(
                table = self.table,
                copied = self.done,
                rows = self.rows,
                all_tables = format!("{}/{}", self.copied, self.total),
                "copying table"
            );
        }
    }

    fn finish(&mut self) {
        // Not started: the target was refused before the copy began.
        if self.started && !self.finished {
            self.finished = true;
            tracing::info!(copied = self.copied, rows = self.total, "copy done");
        }
    }
}
