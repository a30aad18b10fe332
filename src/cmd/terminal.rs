//! Questions on the terminal with dialoguer: the wizard's prompts and revoke's confirmation.
//! Ctrl-C at a question (dialoguer reads it as a key in raw mode) becomes `Error::Interrupted`.

use console::Term;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};

use crate::error::{Error, Result};
use crate::wizard::Prompter;

/// Questions on the terminal (stderr), with dialoguer.
pub(crate) struct Terminal {
    theme: ColorfulTheme,
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

impl Terminal {
    pub(crate) fn new() -> Terminal {
        Terminal {
            theme: ColorfulTheme::default(),
        }
    }
}

/// Whether kscope may ask: stdin and stderr are both a terminal.
pub(crate) fn can_ask() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question (default no) from async code, on a thread that may block (the
/// runtime's one thread goes on serving the connections meanwhile).
pub(crate) async fn confirm(prompt: &str) -> Result<bool> {
    let prompt = prompt.to_string();
    tokio::task::spawn_blocking(move || Terminal::new().confirm(&prompt, false))
        .await
        .map_err(|e| Error::bug(format!("the question stopped unexpectedly: {e}")))?
}

/// dialoguer reports Ctrl-C as an interrupted read; anything else is a broken terminal.
fn prompt_error(error: dialoguer::Error) -> Error {
    // A select hides the cursor and leaves it hidden when it fails.
    let _ = Term::stderr().show_cursor();
    let error = std::io::Error::from(error);
    if error.kind() == std::io::ErrorKind::Interrupted {
        crate::progress::note("");
        Error::Interrupted
    } else {
        Error::Terminal(error)
    }
}

impl Prompter for Terminal {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .max_length(12)
            .interact()
            .map_err(prompt_error)
    }

    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        let mut input = Input::<String>::with_theme(&self.theme).with_prompt(prompt);
        if let Some(default) = default {
            input = input.default(default.to_string());
        }
        input
            .validate_with(|text: &String| validate(text.trim()))
            .interact_text()
            .map(|text| text.trim().to_string())
            .map_err(prompt_error)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    fn note(&mut self, text: &str) {
        crate::progress::note(text);
    }
}
