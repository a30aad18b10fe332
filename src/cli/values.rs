//! The values and shared groups of kscope's flags: output formats, `--fail-on`, Pod Security
//! levels, the risks a grant accepts, dry runs, the access to grant, `--token-source` and
//! `--network`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How a command prints the objects it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Output {
    #[default]
    Table,
    Yaml,
    Json,
}

impl From<Output> for kscope_core::render::Format {
    fn from(output: Output) -> Self {
        use kscope_core::render::Format;
        match output {
            Output::Table => Format::Table,
            Output::Yaml => Format::Yaml,
            Output::Json => Format::Json,
        }
    }
}

/// How `audit` and `check` print what they found: as the other commands do, or in the
/// formats CI systems read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ReportOutput {
    #[default]
    Table,
    Yaml,
    Json,
    /// SARIF 2.1.0, for code-scanning views.
    Sarif,
    /// JUnit XML, for test-report views.
    Junit,
}

impl ReportOutput {
    /// The format as the other commands name it; `None` for the CI formats.
    pub(crate) fn plain(self) -> Option<Output> {
        match self {
            ReportOutput::Table => Some(Output::Table),
            ReportOutput::Yaml => Some(Output::Yaml),
            ReportOutput::Json => Some(Output::Json),
            ReportOutput::Sarif | ReportOutput::Junit => None,
        }
    }
}

/// `audit --fail-on`: the lowest severity that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Low,
    Medium,
    High,
}

/// `--pod-security`: the Pod Security level of a namespace kscope creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum PodSecurityLevel {
    /// The hardened profile: non-root, no privilege escalation, seccomp.
    Restricted,
    /// No privileged containers, host namespaces or host paths (the default).
    #[default]
    Baseline,
    /// Anything, including pods that take their node; said plainly in every report.
    Privileged,
}

/// The paths out of a namespace that a grant refuses unless told to accept them (shared by
/// `grant`, `apply` and the wizard).
#[derive(Debug, Clone, Copy, Args, Default)]
pub(crate) struct ContainmentArgs {
    /// Accept an existing namespace that admits pods able to take their node (privileged,
    /// the host's namespaces or file system) although the grant can create pods.
    #[arg(long)]
    pub(crate) allow_host_pods: bool,

    /// Grant in kube-system, kube-public, kube-node-lease or default.
    #[arg(long)]
    pub(crate) allow_system_namespace: bool,

    /// Grant in a namespace that holds a ServiceAccount with more access than the grant,
    /// although the grant can act as it (run pods, mint tokens, read Secrets).
    #[arg(long)]
    pub(crate) allow_shared_namespace: bool,

    /// Grant without kscope's guard (a ValidatingAdmissionPolicy) when you may not install it;
    /// the tenant may then change its Namespace, kscope's objects and Endpoints.
    #[arg(long)]
    pub(crate) allow_unguarded: bool,
}

/// `--dry-run` modes, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DryRun {
    /// Print the manifests; touch no cluster.
    Client,
    /// Send the manifests for validation; persist nothing.
    Server,
}

/// Where a grant's access comes from (shared by `grant` and the wizard).
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct AccessArgs {
    /// Role template: a name from `kscope templates` or a YAML file.
    #[arg(long, value_name = "NAME|FILE", conflicts_with = "cluster_role")]
    pub(crate) template: Option<String>,

    /// Bind an existing ClusterRole (such as edit or view) in the namespace instead of a template.
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster_role: Option<String>,

    /// Extra directory of user templates (also read: $XDG_CONFIG_HOME/kscope/templates).
    #[arg(long, value_name = "DIR")]
    pub(crate) template_dir: Option<PathBuf>,
}

/// `--network`: how kscope's NetworkPolicy isolates a grant's namespaces.
/// `--token-source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenSourceArg {
    Secret,
    Bound,
    Auto,
}

impl From<TokenSourceArg> for kscope_core::expiry::TokenSource {
    fn from(arg: TokenSourceArg) -> Self {
        match arg {
            TokenSourceArg::Secret => Self::Secret,
            TokenSourceArg::Bound => Self::Bound,
            TokenSourceArg::Auto => Self::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum NetworkMode {
    #[default]
    Isolated,
    IsolateEgress,
    Open,
}

impl From<NetworkMode> for kscope_core::spec::Network {
    fn from(mode: NetworkMode) -> Self {
        use kscope_core::spec::Network;
        match mode {
            NetworkMode::Isolated => Network::Isolated,
            NetworkMode::IsolateEgress => Network::IsolatedEgress,
            NetworkMode::Open => Network::Open,
        }
    }
}
