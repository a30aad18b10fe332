//! Progress on stderr while a command waits: a spinner on a terminal, one plain line
//! otherwise, nothing at all when the session is quiet. Operations announce what they wait
//! for through [`Progress`]; they never print data.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Prints a status line on stderr (suggested commands spelled as the user calls kscope).
pub fn note(message: &str) {
    eprintln!("{}", crate::program::spell(message));
}

/// Whether a session shows what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    #[default]
    Shown,
    Hidden,
}

impl Progress {
    /// Starts showing that something is waited for; the returned spinner says when it ends.
    pub fn start(self, message: &str) -> Spinner {
        let stopped = Arc::new(Mutex::new(false));
        if self == Progress::Hidden {
            return Spinner {
                stopped,
                shown: false,
                animated: false,
            };
        }
        if !std::io::stderr().is_terminal() {
            note(message);
            return Spinner {
                stopped,
                shown: true,
                animated: false,
            };
        }
        let flag = stopped.clone();
        let text = message.to_string();
        tokio::spawn(async move {
            for frame in FRAMES.iter().cycle() {
                {
                    // The lock orders every frame before the line is cleared for good.
                    let stop = flag.lock().unwrap_or_else(|e| e.into_inner());
                    if *stop {
                        break;
                    }
                    eprint!("\r{frame} {text}");
                    let _ = std::io::stderr().flush();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Spinner {
            stopped,
            shown: true,
            animated: true,
        }
    }
}

pub struct Spinner {
    stopped: Arc<Mutex<bool>>,
    shown: bool,
    animated: bool,
}

impl Spinner {
    /// Stops the spinner and leaves `message` in its place.
    pub fn finish(self, message: &str) {
        self.stop();
        if self.shown {
            note(message);
        }
    }

    fn stop(&self) {
        let mut stop = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if !*stop && self.animated {
            eprint!("\r\x1b[2K");
        }
        *stop = true;
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop();
    }
}
