//! `kscope templates`: the built-in and user Role templates, with their descriptions.

use crate::cli::{Output, TemplatesArgs};
use crate::cmd::print;
use crate::error::{Exit, Result};
use crate::render;
use crate::templates;

pub fn run(args: &TemplatesArgs) -> Result<Exit> {
    let all = templates::catalog(&templates::user_dirs(args.template_dir.as_deref()))?;
    print(&match args.output {
        Output::Table => render::templates(&all),
        Output::Yaml => render::yaml(&render::template_docs(&all))?,
        Output::Json => render::json(&render::template_docs(&all))?,
    })?;
    Ok(Exit::Ok)
}
