//! The command line, as clap types only. Each `///` becomes `--help`; validation of values
//! happens in `spec`, not here, so that every error has kscope's wording and exit code 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod values;
pub(crate) use values::*;

/// Hand a tenant a namespace-scoped Kubernetes credential, and prove that it works.
///
/// Without a subcommand on a terminal, kscope starts the interactive wizard.
#[derive(Debug, Parser)]
#[command(
    name = "kscope",
    version = env!("KSCOPE_VERSION"),
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,

    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Debug, Clone, Args, Default)]
pub(crate) struct Global {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: its current context). `apply` takes several.
    #[arg(long = "context", global = true, value_name = "NAME")]
    pub(crate) contexts: Vec<String>,

    /// Log every API request (method and path) on stderr. Tokens are never logged.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// How long one API request may wait for the server's answer, e.g. 10s or 1m.
    #[arg(long, global = true, default_value = "30s", value_name = "DURATION")]
    pub(crate) request_timeout: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or update the Namespace, ServiceAccount, token Secret, Role and RoleBinding.
    Grant(GrantArgs),
    /// Print a kubeconfig scoped to a grant's namespace and ServiceAccount.
    Kubeconfig(KubeconfigArgs),
    /// Verify a grant's access as the ServiceAccount itself.
    Check(CheckArgs),
    /// List the kscope grants you can see, with token age, last use and drift.
    List(ListArgs),
    /// Find risky credentials and bindings across the cluster (read-only).
    Audit(AuditArgs),
    /// Grant every tenant of a TenantSet file (on each --context), and prune those that left it.
    Apply(ApplyArgs),
    /// Delete a grant (its RoleBinding first) and prove every earlier token refused (401).
    Revoke(RevokeArgs),
    /// Invalidate every earlier token of a grant (a new ServiceAccount), prove them refused (401) and the new one accepted.
    Rotate(RotateArgs),
    /// List the Role templates, built-in and your own.
    Templates(TemplatesArgs),
    /// Walk through a grant interactively (the default on a terminal).
    Wizard(WizardArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of kscope and every subcommand: kscope man | man -l -
    Man,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct GrantArgs {
    /// Namespace to grant access in (created if missing; an existing one only gets kscope's
    /// tenant label, its quota, limit range and network policy).
    pub(crate) namespace: String,

    /// ServiceAccount that receives the access.
    pub(crate) serviceaccount: String,

    /// Grant the same role in this namespace too (repeatable): one identity, its token in the
    /// home namespace. Namespaces left out of a later grant lose their binding.
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) also_in: Vec<String>,

    #[command(flatten)]
    pub(crate) access: AccessArgs,

    /// Take over objects of the same names that kscope does not manage.
    #[arg(long)]
    pub(crate) adopt: bool,

    /// Accept a role that grants escalate, bind or impersonate (a template), or every verb,
    /// escalate, bind or impersonation of users (a ClusterRole).
    #[arg(long)]
    pub(crate) allow_escalation: bool,

    /// Pod Security level of a namespace kscope creates (an existing one is never changed).
    #[arg(long, value_enum, default_value_t = PodSecurityLevel::Baseline, value_name = "LEVEL")]
    pub(crate) pod_security: PodSecurityLevel,

    /// Open shared machinery the guard closes to tenants, comma-separated: nodeport,
    /// loadbalancer, externalname, external-ips (Services that reach outside the namespace).
    #[arg(long, value_name = "LIST")]
    pub(crate) allow_service: Option<String>,

    /// Set or replace hard limits of kscope's ResourceQuota, comma-separated NAME=QUANTITY
    /// (cpu and memory stand for requests.cpu and requests.memory), e.g. cpu=4,memory=8Gi,pods=50.
    #[arg(long, value_name = "LIST", conflicts_with = "no_quota")]
    pub(crate) quota: Option<String>,

    /// Give the grant's namespaces no ResourceQuota and no LimitRange of kscope's.
    #[arg(long)]
    pub(crate) no_quota: bool,

    /// How kscope's NetworkPolicy isolates the grant's namespaces: traffic in only from them
    /// (isolated), out only to them and cluster DNS too (isolate-egress), or no policy (open).
    #[arg(long, value_enum, default_value_t = NetworkMode::Isolated, value_name = "MODE")]
    pub(crate) network: NetworkMode,

    /// Make every pod of the grant's namespaces pull its images (imagePullPolicy: Always), so
    /// that no tenant runs another's private image from a node's cache (kscope's always-pull
    /// policy, installed once per cluster).
    #[arg(long)]
    pub(crate) always_pull: bool,

    /// End the grant's access: after a lifetime (e.g. 8h, 30d; each token lives that long and
    /// rotate or apply renew it) or at an RFC 3339 time (e.g. 2026-12-31T18:00:00Z). The token
    /// is then bound to the grant's Secret, and the API server refuses it once it expires.
    #[arg(long, value_name = "DURATION|TIME")]
    pub(crate) expires: Option<String>,

    /// Renew the grant's bound token when it expires within this long (default: within a
    /// third of its life); a token outside the window is kept.
    #[arg(long, value_name = "DURATION")]
    pub(crate) renew_before: Option<String>,

    /// Where the grant's token comes from: the token controller's Secret token (secret), a
    /// token bound to the grant's Secret that kscope requests and stores there (bound, 24h
    /// unless --expires), or the Secret token where the cluster still fills one in and a
    /// bound one where it does not within 10s (auto). --expires always means bound.
    #[arg(long, value_enum, default_value_t = TokenSourceArg::Auto, value_name = "SOURCE")]
    pub(crate) token_source: TokenSourceArg,

    #[command(flatten)]
    pub(crate) containment: ContainmentArgs,

    /// Print the manifests without touching the cluster (client), or have the server validate them (server).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub(crate) dry_run: Option<DryRun>,

    /// How long to wait for the token controller to fill in the token, e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub(crate) timeout: String,

    /// Output format of the per-object results.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,

    /// Also write the grant's kubeconfig to FILE (mode 0600, atomically), as `kscope
    /// kubeconfig --output FILE` would: the grant and its credential in one command.
    #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
    pub(crate) write_kubeconfig: Option<PathBuf>,

    /// Replace an existing --write-kubeconfig file.
    #[arg(long, requires = "write_kubeconfig")]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct KubeconfigArgs {
    /// Namespace of the grant (default: the last grant made from this machine for this context).
    #[arg(requires = "serviceaccount")]
    pub(crate) namespace: Option<String>,

    /// ServiceAccount of the grant.
    pub(crate) serviceaccount: Option<String>,

    #[command(flatten)]
    pub(crate) emit: EmitArgs,

    /// API server address to put in the kubeconfig (default: the one of your context).
    #[arg(long, value_name = "URL")]
    pub(crate) server: Option<String>,

    /// CA certificate (PEM) to embed (default: the one of your context).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,

    /// What to emit: a kubeconfig, Argo CD's declarative cluster Secret, or the kubeconfig
    /// Secret Flux reads (key `value`).
    #[arg(long, value_enum, default_value_t = CredentialFormat::Kubeconfig)]
    pub(crate) format: CredentialFormat,

    /// The Secret's namespace (argocd: default argocd; flux: required, the namespace of the
    /// Kustomization or HelmRelease that reads it).
    #[arg(long, value_name = "NAMESPACE")]
    pub(crate) secret_namespace: Option<String>,

    /// The cluster's name in Argo CD (default: the name of the kubeconfig kscope writes).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,

    /// Server-side apply the Secret into this context's cluster (where Argo CD or Flux runs)
    /// instead of printing it; `rotate` updates it there later.
    #[arg(long, value_name = "CONTEXT", conflicts_with = "output")]
    pub(crate) deliver_to: Option<String>,
}

/// `kubeconfig --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum CredentialFormat {
    #[default]
    Kubeconfig,
    Argocd,
    Flux,
}

/// How a kubeconfig is issued and where it goes (shared by `kubeconfig` and `rotate`).
#[derive(Debug, Clone, Args)]
pub(crate) struct EmitArgs {
    /// Embed an expiring token of this lifetime (at least 10m), bound to the grant's token Secret.
    #[arg(long, value_name = "DURATION")]
    pub(crate) duration: Option<String>,

    /// Write to FILE (mode 0600, atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Replace an existing --output file.
    #[arg(long, requires = "output")]
    pub(crate) force: bool,

    /// Fail (exit 1, nothing written) if the server grants a shorter --duration than asked.
    #[arg(long, requires = "duration")]
    pub(crate) strict_duration: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CheckArgs {
    /// Namespace of the grant (default: the last grant, or the namespace of --kubeconfig-file).
    #[arg(requires = "serviceaccount")]
    pub(crate) namespace: Option<String>,

    /// ServiceAccount of the grant.
    pub(crate) serviceaccount: Option<String>,

    /// Check through this kubeconfig (e.g. one kscope wrote) instead of a freshly minted token.
    /// It may hold only an inline token and a CA, unless --trust-kubeconfig-file.
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig_file: Option<PathBuf>,

    /// Let --kubeconfig-file run its exec plugin, read the files it names and use its proxy
    /// (only for a file you wrote yourself: a handed-in one could run code on this machine).
    #[arg(long, requires = "kubeconfig_file")]
    pub(crate) trust_kubeconfig_file: bool,

    /// Ask about every resource, subresource and verb the server serves (CRDs included), not
    /// the fixed matrix.
    #[arg(long)]
    pub(crate) all_resources: bool,

    /// Prove every tenant of this TenantSet (the file `kscope apply -f` takes), on each
    /// --context, instead of one grant.
    #[arg(short = 'f', long = "filename", value_name = "FILE",
          conflicts_with_all = ["namespace", "kubeconfig_file", "template", "cluster_role"])]
    pub(crate) file: Option<PathBuf>,

    /// With -f: how many tenants are proven at once, per cluster.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub(crate) concurrency: usize,

    /// Answer every question by its own SelfSubjectAccessReview, never from a
    /// SelfSubjectRulesReview (for authorizers whose rules review is not to be trusted).
    #[arg(long)]
    pub(crate) access_reviews: bool,

    #[command(flatten)]
    pub(crate) access: AccessArgs,

    /// Output format: the matrix (with -f: a line per tenant) as a table, every answer as
    /// JSON or YAML, or the differences as SARIF or JUnit for CI systems.
    #[arg(short, long, value_enum, default_value_t = ReportOutput::Table)]
    pub(crate) output: ReportOutput,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ListArgs {
    /// Only the grants in this namespace (default: all namespaces).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct AuditArgs {
    /// Only the findings in this namespace (and those of cluster-wide objects).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub(crate) namespace: Option<String>,

    /// Exit 3 when a finding of this severity or higher is found (accepted ones do not count).
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub(crate) fail_on: FailOn,

    /// A long-lived token is unused when it is older than this and was not used within it.
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub(crate) unused_for: String,

    /// A grant's bound token is reported as expiring when it ends within this.
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub(crate) expiring_within: String,

    /// Known findings accepted with a reason until a date: a YAML list of {ruleId, object:
    /// {kind, namespace, name}, reason, expires}. Shown, but not counted for --fail-on.
    #[arg(long, value_name = "FILE")]
    pub(crate) accept: Option<PathBuf>,

    /// Output format (sarif and junit for CI systems).
    #[arg(short, long, value_enum, default_value_t = ReportOutput::Table)]
    pub(crate) output: ReportOutput,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ApplyArgs {
    /// The TenantSet file (apiVersion kscope.dev/v1alpha1, kind TenantSet).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// Write one kubeconfig per tenant here: <namespace>_<serviceaccount>.kubeconfig (mode 0600);
    /// the directory is created (mode 0700) when it is missing.
    #[arg(long, value_name = "DIR")]
    pub(crate) kubeconfig_dir: Option<PathBuf>,

    /// How many tenants are granted at once, per cluster.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) concurrency: usize,

    /// Revoke (with the 401 proof) the grants of this set that are no longer in the file.
    #[arg(long)]
    pub(crate) prune: bool,

    /// Prune without asking (required when stdin is not a terminal).
    #[arg(short, long, requires = "prune")]
    pub(crate) yes: bool,

    /// Accept roles that grant escalate, bind or impersonate (templates), or every verb,
    /// escalate, bind or impersonation of users (ClusterRoles).
    #[arg(long)]
    pub(crate) allow_escalation: bool,

    #[command(flatten)]
    pub(crate) containment: ContainmentArgs,

    /// Print the manifests without touching a cluster (client), or have the server validate them (server).
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub(crate) dry_run: Option<DryRun>,

    /// Extra directory of user templates (also read: $XDG_CONFIG_HOME/kscope/templates).
    #[arg(long, value_name = "DIR")]
    pub(crate) template_dir: Option<PathBuf>,

    /// How long to wait for each tenant's token, e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub(crate) timeout: String,

    /// Renew a tenant's bound token when it expires within this long (default: within a third
    /// of its life); tokens outside the window are kept.
    #[arg(long, value_name = "DURATION")]
    pub(crate) renew_before: Option<String>,

    /// Output format of the per-tenant results.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RevokeArgs {
    /// Namespace of the grant.
    pub(crate) namespace: String,

    /// ServiceAccount of the grant.
    pub(crate) serviceaccount: String,

    /// Revoke without asking (required when stdin is not a terminal).
    #[arg(short, long)]
    pub(crate) yes: bool,

    /// Show what would be deleted; delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Also delete the namespace, if kscope created it.
    #[arg(long)]
    pub(crate) delete_namespace: bool,

    /// Also delete what the tenant made in its namespaces during the grant (ServiceAccounts,
    /// token Secrets, Roles, RoleBindings that are not kscope's), and prove them refused.
    #[arg(long)]
    pub(crate) purge: bool,

    /// How long to wait for the API server to refuse the old token, e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub(crate) timeout: String,

    /// Output format of the report.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RotateArgs {
    /// Namespace of the grant.
    pub(crate) namespace: String,

    /// ServiceAccount of the grant.
    pub(crate) serviceaccount: String,

    #[command(flatten)]
    pub(crate) emit: EmitArgs,

    /// How long to wait for the new token and for the old one to be refused, e.g. 60s.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub(crate) timeout: String,

    /// Rotate only a bound token that expires within this long (a renewal: for a cron job or
    /// a pipeline); any other grant is left as it is.
    #[arg(long, value_name = "DURATION")]
    pub(crate) renew_before: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TemplatesArgs {
    /// Extra directory of user templates (also read: $XDG_CONFIG_HOME/kscope/templates).
    #[arg(long, value_name = "DIR")]
    pub(crate) template_dir: Option<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    pub(crate) output: Output,
}

/// Pre-answers for the wizard: each flag skips its question (the preview is always shown).
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct WizardArgs {
    /// Namespace to grant access in (skips the namespace question).
    #[arg(long, value_name = "NAME")]
    pub(crate) namespace: Option<String>,

    /// ServiceAccount that receives the access (skips the name question).
    #[arg(long, value_name = "NAME")]
    pub(crate) serviceaccount: Option<String>,

    #[command(flatten)]
    pub(crate) access: AccessArgs,

    /// Put an expiring token of this lifetime (at least 10m) in the kubeconfig (skips the token question).
    #[arg(long, value_name = "DURATION", conflicts_with = "long_lived")]
    pub(crate) duration: Option<String>,

    /// Put the long-lived token of the grant's Secret in the kubeconfig (skips the token question).
    #[arg(long)]
    pub(crate) long_lived: bool,

    /// End the grant's access after this lifetime or at this RFC 3339 time, as grant --expires
    /// does (skips the token question).
    #[arg(long, value_name = "DURATION|TIME", conflicts_with_all = ["long_lived", "duration"])]
    pub(crate) expires: Option<String>,

    /// Write the kubeconfig to FILE (default: ./<namespace>-<serviceaccount>.kubeconfig).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Replace an existing --output file without asking.
    #[arg(long)]
    pub(crate) force: bool,

    /// Take over objects of the same names that kscope does not manage, without asking.
    #[arg(long)]
    pub(crate) adopt: bool,

    /// Accept a role that grants escalate, bind or impersonate.
    #[arg(long)]
    pub(crate) allow_escalation: bool,

    /// Pod Security level of a new namespace (skips the Pod Security question).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub(crate) pod_security: Option<PodSecurityLevel>,

    #[command(flatten)]
    pub(crate) containment: ContainmentArgs,
}
