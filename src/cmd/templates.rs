//! `kscope templates`: the built-in and user Role templates, with their descriptions.

use crate::cli::TemplatesArgs;
use crate::cmd::print;
use crate::error::{Exit, Result};
use kscope_core::render;
use kscope_core::templates;

pub(crate) fn templates(args: &TemplatesArgs) -> Result<Exit> {
    let all = templates::catalog(&templates::user_dirs(args.template_dir.as_deref()))?;
    let docs = render::template_docs(&all);
    print(&render::as_output(
        args.output,
        &render::list("Template", &docs),
        || render::templates(&all),
    )?)?;
    Ok(Exit::Ok)
}
