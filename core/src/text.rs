//! Text that came from the cluster or from someone else's file (names, labels, annotations,
//! subjects, API messages), made safe to print on an admin's terminal: every control
//! character is written as an escape (`\u{1b}`), so a tenant cannot hide text, move the cursor
//! or set a window title through what kscope prints. Depends on nothing else in kscope.

/// `text` with control characters (C0, DEL, C1) escaped; everything else as it is.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        assert_eq!(printable("team-a/ci"), "team-a/ci");
        assert_eq!(printable("ünïcode ✓"), "ünïcode ✓");
        assert_eq!(
            printable("evil\u{1b}[2J\u{1b}]0;owned\u{7}\nline"),
            "evil\\u{1b}[2J\\u{1b}]0;owned\\u{7}\\u{a}line"
        );
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
    }
}
