//! `kscope man`: the roff manual page, built from the clap definitions.

use crate::error::{Error, Result};

/// The manual page of `command` and of each of its subcommands, in roff: the main page, then a
/// section per subcommand with its synopsis, description and options.
pub(crate) fn man_page(mut command: clap::Command) -> Result<String> {
    command.build();
    let bug = |e: std::io::Error| Error::bug(format!("could not render the manual page: {e}"));
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut out)
        .map_err(bug)?;
    let name = command.get_name().to_string();
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let man = clap_mangen::Man::new(sub.clone());
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part).map_err(bug)?;
        man.render_description_section(&mut part).map_err(bug)?;
        man.render_options_section(&mut part).map_err(bug)?;
        out.extend_from_slice(
            format!(
                ".SH \"{} {}\"\n",
                name.to_uppercase(),
                sub.get_name().to_uppercase()
            )
            .as_bytes(),
        );
        // Sections of a subcommand are subsections of the page.
        out.extend_from_slice(
            String::from_utf8_lossy(&part)
                .replace(".SH ", ".SS ")
                .as_bytes(),
        );
    }
    let page = String::from_utf8(out).map_err(|e| Error::bug(e.to_string()))?;
    // The title line first, as man pages begin; the string definitions before it move after.
    let (title, rest): (Vec<&str>, Vec<&str>) = page.lines().partition(|l| l.starts_with(".TH "));
    Ok(title
        .into_iter()
        .chain(rest)
        .map(|l| format!("{l}\n"))
        .collect())
}
