//! `kscope grant <namespace> <serviceaccount>`: plan, then print the manifests (`--dry-run`)
//! or run the grant operation and report per object.

use crate::cli::{DryRun, Global, GrantArgs};
use crate::cluster::{Wire, WriteMode};
use crate::cmd::{connect, endpoint, print, warn};
use crate::error::{Exit, Result};
use crate::kubeconfig::{check_destination, write_private};
use crate::ops::credential;
use crate::ops::grant;
use crate::plan;
use crate::progress::note;
use kscope_core::render;
use kscope_core::spec::RoleSource;
use kscope_core::spec::TokenKind;
use kscope_core::templates::{self, Origin};
use kscope_core::{containment, manifest};

/// The option that names the grant's kubeconfig file, for the hints of its refusals.
const WRITE_FLAG: &str = "--write-kubeconfig";

pub(crate) async fn grant(global: &Global, args: &GrantArgs, wire: &Wire) -> Result<Exit> {
    let plan = plan::grant(args)?;
    if let RoleSource::Template(template) = &plan.spec.role
        && let Origin::File(path) = &template.origin
        && templates::is_built_in_name(&template.name)
    {
        note(&format!(
            "template {} is {}, which replaces the built-in of that name",
            template.name,
            path.display()
        ));
    }
    if plan.dry_run == Some(DryRun::Client) {
        let mut text = manifest::to_yaml(&manifest::build(&plan.spec))?;
        if containment::spec_needs_guard(&plan.spec) {
            text.push_str(&containment::guard_yaml()?);
        }
        print(&text)?;
        return Ok(Exit::Ok);
    }
    // Where the kubeconfig goes, and the cluster it names, are settled before any write.
    if let Some(path) = &args.write_kubeconfig {
        check_destination(path, args.force, WRITE_FLAG)?;
    }
    let session = connect(global, wire).await?;
    let endpoint = match &args.write_kubeconfig {
        Some(_) => Some(endpoint(&session, None, None)?),
        None => None,
    };
    let mode = match plan.dry_run {
        Some(DryRun::Server) => WriteMode::ServerDryRun,
        _ => WriteMode::Apply,
    };
    let report = grant::execute(&session, &plan, mode).await?;
    let items = render::list("GrantResult", &report.objects);
    print(&render::as_output(args.output, &items, || {
        render::grant_results(&report.objects)
    })?)?;
    if let Some(error) = &report.not_remembered {
        warn(error);
    }
    for line in &report.notes {
        note(line);
    }
    if let (Some(path), Some(endpoint), WriteMode::Apply) =
        (&args.write_kubeconfig, &endpoint, mode)
    {
        let known = credential::Known {
            secret: report.token_secret.as_ref(),
            also_in: Some(&report.also_in),
        };
        let grant = plan.spec.grant_ref();
        let issued =
            credential::issue(&session, &grant, known, TokenKind::LongLived, endpoint).await?;
        write_private(path, &issued.kubeconfig, args.force, WRITE_FLAG)?;
        note(&format!("wrote {} (mode 0600)", path.display()));
    } else if mode == WriteMode::Apply {
        note(&format!(
            "next: kscope kubeconfig {} {} > {}.kubeconfig",
            plan.spec.namespace, plan.spec.service_account, plan.spec.namespace
        ));
    } else {
        note("server dry run: the API server accepted every object; nothing was persisted");
    }
    Ok(Exit::Ok)
}
