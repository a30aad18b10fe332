//! Progress on stderr: a spinner while waiting on a terminal, one plain line otherwise.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Prints a status line on stderr.
pub fn note(message: &str) {
    eprintln!("{message}");
}

pub struct Spinner {
    stop: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Spinner {
    /// Starts a spinner with `message` on a terminal; elsewhere prints the message once.
    pub fn start(message: &str) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            note(message);
            return Spinner { stop, task: None };
        }
        let flag = stop.clone();
        let text = message.to_string();
        let task = tokio::spawn(async move {
            let mut frame = 0;
            while !flag.load(Ordering::Relaxed) {
                eprint!("\r{} {text}", FRAMES[frame % FRAMES.len()]);
                let _ = std::io::stderr().flush();
                frame += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Spinner {
            stop,
            task: Some(task),
        }
    }

    /// Stops the spinner and leaves `message` in its place.
    pub async fn finish(mut self, message: &str) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            let _ = task.await;
            eprint!("\r\x1b[2K");
        }
        note(message);
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.task.take().is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}
