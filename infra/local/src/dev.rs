//! The whole local stack: emulator, provisioned resources, function processes,
//! HTTP gateway and event sources, started from `template.yaml` in one call.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::cognito::{Cognito, CognitoError, SignIn};
use crate::emulator::{Emulator, EmulatorError};
use crate::events::{spawn_schedule, SqsPoller};
use crate::gateway::jwt::JwtAuthorizer;
use crate::gateway::{Gateway, GatewayConfig, RouteTable, SesEvents};
use crate::progress::Progress;
use crate::provision::{provision, sdk_config, ProvisionError};
use crate::proxy::Proxy;
use crate::runtime::{
    binary_path, build_packages, function_binary, BuildError, FunctionConfig, FunctionHost,
    Functions, InvokeError,
};
use crate::task::AbortOnDrop;
use crate::template::{EventSource, StackModel, StackSettings, Template, TemplateError};
use leadflow::identity::{local_key, LOCAL_KEY_FILE};

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Emulator(#[from] EmulatorError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Function(#[from] InvokeError),
    #[error("the HTTP API cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("{0}")]
    Routes(String),
    #[error("the user pool: {0}")]
    Cognito(#[from] CognitoError),
    #[error("a test stack slot: {0}")]
    Slot(std::io::Error),
}

/// How to start a [`RunningStack`].
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Port of the HTTP API on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Prefix of every physical name; stacks with different names can share one emulator.
    pub stack_name: String,
    /// Template parameter overrides. Parameters whose default names
    /// `127.0.0.1:3000`/`localhost:3000` follow the actual port unless overridden here.
    pub params: BTreeMap<String, String>,
    /// Build the functions (`cargo build -p ...`) before starting them.
    pub build: bool,
    /// Emulator endpoint; `None` uses `AWS_ENDPOINT_URL` or starts moto (and stops it with the stack).
    pub emulator: Option<String>,
    /// Do not forward function output to stderr (unless `LEADFLOW_DEV_LOGS=1`).
    pub quiet: bool,
    /// Run schedules at this period instead of their `rate(...)`.
    pub schedule_period: Option<Duration>,
    /// The period of one function's schedule, by logical id, over
    /// `schedule_period` (a test that needs the outbox swept every 2 s need
    /// not tick reminders and nurture as often: each tick reads the emulator).
    pub schedule_periods: BTreeMap<String, Duration>,
    /// Workspace root; `None` is [`crate::root::workspace_root`].
    pub root: Option<PathBuf>,
    /// Template; `None` is `<root>/template.yaml`.
    pub template: Option<PathBuf>,
    /// Executables to run instead of the built ones, by function logical id.
    pub binaries: BTreeMap<String, PathBuf>,
    /// How long a function process may take to ask for its first invocation.
    pub ready_timeout: Duration,
    /// Meter what the functions (and the SQS pollers) ask of the emulator
    /// in the [`Proxy`] they all go through; [`RunningStack::usage`] then
    /// reports what they used.
    pub metered: bool,
    /// Hold one of the machine's [`testing::stack_slots`](crate::testing::stack_slots)
    /// while the stack runs (waiting for one first), so that tests in every
    /// test process together run no more stacks than the cores can carry.
    pub test_slot: bool,
    /// Queue attributes that replace the template's, by queue logical id
    /// (`VisibilityTimeout: 2` so a test sees a failed delivery again in
    /// seconds): set when the queue is made, before anything receives from it.
    pub queue_attributes: BTreeMap<String, BTreeMap<String, String>>,
}

impl DevOptions {
    /// The period `function`'s schedules run at, when not their own rate.
    pub fn period_of(&self, function: &str) -> Option<Duration> {
        self.schedule_periods
            .get(function)
            .copied()
            .or(self.schedule_period)
    }
}

impl Default for DevOptions {
    fn default() -> Self {
        Self {
            port: 3000,
            stack_name: "leadflow-dev".into(),
            params: BTreeMap::new(),
            build: true,
            emulator: None,
            quiet: false,
            schedule_period: None,
            schedule_periods: BTreeMap::new(),
            root: None,
            template: None,
            binaries: BTreeMap::new(),
            ready_timeout: Duration::from_secs(30),
            metered: false,
            test_slot: false,
            queue_attributes: BTreeMap::new(),
        }
    }
}

impl DevOptions {
    /// For tests: a free port, quiet, the given (unique) stack name, one of
    /// the machine's test slots.
    pub fn for_tests(stack_name: impl Into<String>) -> Self {
        Self {
            port: 0,
            stack_name: stack_name.into(),
            quiet: true,
            test_slot: true,
            ..Self::default()
        }
    }
}

/// Starts stacks.
pub struct DevStack;

impl DevStack {
    /// Starts everything `template.yaml` declares; see [`DevOptions`].
    pub async fn start(options: DevOptions) -> Result<RunningStack, DevError> {
        let root = options
            .root
            .clone()
            .unwrap_or_else(crate::root::workspace_root);
        let template_path = options
            .template
            .clone()
            .unwrap_or_else(|| crate::root::template_path(&root));
        let template = Template::load(&template_path)?;
        let slot = match options.test_slot {
            true => Some(crate::testing::stack_slot().await.map_err(DevError::Slot)?),
            false => None,
        };
        let progress = Progress::default();

        // The port opens only when the stack can answer (after the functions
        // are built and started): a client that connects early would wait on
        // an accept queue nobody serves. A busy port is still reported at once.
        let bind = |port: u16| async move {
            let listener = TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| DevError::Listen { port, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| DevError::Listen { port, source })?
                .port();
            Ok::<_, DevError>((listener, bound))
        };
        let (probe, port) = bind(options.port).await?;
        // A free port picked for us (tests) stays held; a named one is let go
        // and taken again when the gateway starts.
        let mut held = (options.port == 0).then_some(probe);

        let emulator = match &options.emulator {
            Some(endpoint) => Emulator::external(endpoint.clone()),
            None => Emulator::from_env_or_start(&root).await?,
        };

        let mut settings = StackSettings::new(&options.stack_name, emulator.endpoint());
        settings.parameter_overrides = localized_parameters(&template, &options.params, port);
        let first = StackModel::resolve(&template, &settings)?;

        let mut executables = BTreeMap::new();
        let mut packages = Vec::new();
        for function in &first.functions {
            match options.binaries.get(&function.logical_id) {
                Some(exe) => {
                    executables.insert(function.logical_id.clone(), exe.clone());
                }
                None => {
                    let binary = function_binary(&root, function)?;
                    executables
                        .insert(function.logical_id.clone(), binary_path(&root, &binary.bin));
                    packages.push(binary.package);
                }
            }
        }
        if options.build {
            build_packages(&root, &packages).await?;
        }
        for (function, exe) in &executables {
            if !exe.is_file() {
                return Err(BuildError(format!(
                    "{function}: {} does not exist{}",
                    exe.display(),
                    if options.build {
                        ""
                    } else {
                        " (build it, or start with build enabled)"
                    }
                ))
                .into());
            }
        }

        let mut first = first;
        for queue in &mut first.queues {
            if let Some(attributes) = options.queue_attributes.get(&queue.logical_id) {
                queue.attributes.extend(attributes.clone());
            }
        }
        let sdk = sdk_config(emulator.endpoint()).await;
        let provisioned = provision(&first, &sdk).await?;
        settings.queue_urls = provisioned.queue_urls;
        // The user pool and its client: their ids are what the authorizer's
        // issuer and audience name.
        let cognito = Cognito::new(emulator.endpoint());
        settings.cognito_ids = cognito.provision(&first).await?;
        // The action-link keys: the secret holds the checkout's local key, so
        // links in emails stay valid across restarts.
        let link_key = local_key(&crate::root::workspace_root())
            .map_err(|e| BuildError(format!("the local signing key ({LOCAL_KEY_FILE}): {e}")))?;
        settings.secret_arns = crate::secrets::provision(emulator.endpoint(), &first, &link_key)
            .await
            .map_err(BuildError)?;
        let mut model = StackModel::resolve(&template, &settings)?;
        for queue in &mut model.queues {
            if let Some(attributes) = options.queue_attributes.get(&queue.logical_id) {
                queue.attributes.extend(attributes.clone());
            }
        }
        let sign_in = SignIn::of_model(cognito, &model, &settings.cognito_ids);

        let forward_logs =
            !options.quiet || std::env::var("LEADFLOW_DEV_LOGS").is_ok_and(|v| v == "1");
        // Every function reaches AWS through the proxy, which holds it to
        // its role in the template (and meters it, when asked).
        let proxy = Proxy::new(
            emulator.endpoint(),
            &model.tables,
            progress.clone(),
            options.metered,
        );
        let mut hosts = Vec::new();
        for f in &model.functions {
            proxy.enforce(crate::proxy::iam::Role {
                function: f.logical_id.clone(),
                statements: f.policies.clone(),
            });
            let exe = executables.get(&f.logical_id).cloned().unwrap_or_default();
            let endpoint = proxy
                .endpoint_for(&f.logical_id)
                .await
                .map_err(|source| DevError::Listen { port: 0, source })?;
            let mut config = FunctionConfig::from_spec(f, exe, &endpoint, forward_logs);
            config.working_dir = Some(root.clone());
            config.progress = progress.clone();
            hosts.push(FunctionHost::new(config));
        }
        let functions = Functions::new(hosts);
        functions.start_all(options.ready_timeout).await?;
        let invoker: Arc<dyn crate::runtime::Invoker> = match options.metered {
            true => Arc::new(MeteredInvoker {
                inner: functions.clone(),
                proxy: proxy.clone(),
            }),
            false => Arc::new(functions.clone()),
        };

        let routes = RouteTable::new(model.routes()).map_err(DevError::Routes)?;
        let landing = crate::root::landing_dir(&root);
        let listener = match held.take() {
            Some(listener) => listener,
            None => bind(port).await?.0,
        };
        let gateway = Gateway::start_on(
            listener,
            GatewayConfig {
                port,
                routes,
                invoker: invoker.clone(),
                landing_dir: landing.is_dir().then_some(landing),
                emulator_endpoint: Some(emulator.endpoint().to_string()),
                authorizers: model
                    .http_apis
                    .iter()
                    .flat_map(|api| {
                        api.authorizers.iter().map(|a| {
                            (
                                api.logical_id.clone(),
                                a.name.clone(),
                                Arc::new(JwtAuthorizer::on_emulator(
                                    a.clone(),
                                    emulator.endpoint(),
                                )),
                            )
                        })
                    })
                    .collect(),
                sign_in: sign_in.clone(),
                integration_timeout: crate::gateway::INTEGRATION_TIMEOUT,
                schedules: model.schedules(),
                ses_events: (!model.ses_event_routes.is_empty()).then(|| SesEvents {
                    sqs: aws_sdk_sqs::Client::new(&sdk),
                    routes: model.ses_event_routes.clone(),
                }),
            },
        )
        .map_err(|source| DevError::Listen { port, source })?;

        // The pollers stand for Lambda's event source mappings, whose SQS
        // requests the account pays for: metered under their own name.
        let sqs = {
            let endpoint = proxy
                .endpoint_for(EVENT_SOURCE_MAPPING)
                .await
                .map_err(|source| DevError::Listen { port: 0, source })?;
            aws_sdk_sqs::Client::new(&sdk_config(&endpoint).await)
        };
        let mut tasks = Vec::new();
        for function in &model.functions {
            for event in &function.events {
                match &event.source {
                    EventSource::Sqs(source) => tasks.push(
                        SqsPoller {
                            client: sqs.clone(),
                            source: source.clone(),
                            function: function.logical_id.clone(),
                            invoker: invoker.clone(),
                            progress: progress.clone(),
                        }
                        .spawn(),
                    ),
                    EventSource::Schedule(schedule) => tasks.push(spawn_schedule(
                        schedule.clone(),
                        function.logical_id.clone(),
                        invoker.clone(),
                        options.period_of(&function.logical_id),
                    )),
                    EventSource::HttpApi(_) => {}
                }
            }
        }

        let schedule_periods = model
            .functions
            .iter()
            .map(|f| (f.logical_id.clone(), options.period_of(&f.logical_id)))
            .collect();
        Ok(RunningStack {
            model,
            emulator,
            sdk,
            functions,
            gateway: Some(gateway),
            tasks,
            schedule_periods,
            proxy,
            metered: options.metered,
            progress,
            sign_in,
            _slot: slot,
        })
    }
}

/// The caller name the SQS pollers' requests are metered under.
pub const EVENT_SOURCE_MAPPING: &str = "EventSourceMapping";

/// Counts each invocation and its duration for the [`Proxy`]'s usage.
struct MeteredInvoker {
    inner: Functions,
    proxy: Arc<Proxy>,
}

impl crate::runtime::Invoker for MeteredInvoker {
    fn invoke(&self, function: &str, payload: Value) -> crate::runtime::InvokeFuture {
        let (inner, proxy, function) =
            (self.inner.clone(), self.proxy.clone(), function.to_string());
        Box::pin(async move {
            let started = std::time::Instant::now();
            let result = crate::runtime::Invoker::invoke(&inner, &function, payload).await;
            proxy.record_invocation(&function, started.elapsed());
            result
        })
    }
}

/// Parameter overrides, plus defaults that name the default local port moved to `port`.
fn localized_parameters(
    template: &Template,
    overrides: &BTreeMap<String, String>,
    port: u16,
) -> BTreeMap<String, String> {
    let mut params = local_parameters(template, port);
    params.extend(overrides.clone());
    // Defaults that name the usual local port follow the one actually used.
    for (name, def) in &template.parameters {
        if let (false, Some(default)) = (params.contains_key(name), &def.default) {
            if port != 3000
                && (default.contains("127.0.0.1:3000") || default.contains("localhost:3000"))
            {
                let moved = default
                    .replace("127.0.0.1:3000", &format!("127.0.0.1:{port}"))
                    .replace("localhost:3000", &format!("localhost:{port}"));
                params.insert(name.clone(), moved);
            }
        }
    }
    params
}

/// What the local stack gives the parameters a deployment must set itself
/// (the template has no defaults for them): the landing page `make dev` serves.
pub fn local_parameters(template: &Template, port: u16) -> BTreeMap<String, String> {
    let local = [
        ("PublicApiUrl", format!("http://127.0.0.1:{port}")),
        // The workspace's development sign-in (pick a playbook person).
        ("WorkspaceSignIn", "local".to_string()),
        (
            "AllowedOrigins",
            format!("http://127.0.0.1:{port},http://localhost:{port}"),
        ),
        (
            "ThankYouUrl",
            format!("http://127.0.0.1:{port}/thanks.html"),
        ),
        (
            "RedirectAllowlist",
            format!("http://127.0.0.1:{port}/,http://localhost:{port}/"),
        ),
    ];
    local
        .into_iter()
        .filter(|(name, _)| {
            template.parameters.get(*name).is_some_and(|def| {
                def.default.is_none() || *name == "PublicApiUrl" || *name == "WorkspaceSignIn"
            })
        })
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// A running local stack. Dropping it kills what it started; [`shutdown`](Self::shutdown)
/// stops everything and waits.
pub struct RunningStack {
    model: StackModel,
    emulator: Emulator,
    sdk: SdkConfig,
    functions: Functions,
    gateway: Option<Gateway>,
    tasks: Vec<AbortOnDrop>,
    schedule_periods: BTreeMap<String, Option<Duration>>,
    proxy: Arc<Proxy>,
    metered: bool,
    progress: Progress,
    sign_in: Option<SignIn>,
    _slot: Option<crate::testing::StackSlot>,
}

impl std::fmt::Debug for RunningStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningStack")
            .field("stack_name", &self.model.stack_name)
            .field("api_url", &self.api_url())
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl RunningStack {
    /// `http://127.0.0.1:PORT` of the HTTP API (and landing page).
    pub fn api_url(&self) -> String {
        self.gateway.as_ref().map(Gateway::url).unwrap_or_default()
    }

    /// The emulator's URL.
    pub fn endpoint(&self) -> &str {
        self.emulator.endpoint()
    }

    pub fn stack_name(&self) -> &str {
        &self.model.stack_name
    }

    /// The template's user pool in the emulator, which people sign in to.
    pub fn sign_in(&self) -> &SignIn {
        self.sign_in
            .as_ref()
            .expect("the template declares a user pool and client")
    }

    /// The resolved template.
    pub fn model(&self) -> &StackModel {
        &self.model
    }

    /// SDK configuration for the emulator (region us-east-1, dummy credentials).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// Physical name of a table.
    pub fn table_name(&self, logical_id: &str) -> Option<&str> {
        self.model.table(logical_id).map(|t| t.name.as_str())
    }

    /// URL of a queue.
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.model.queue(logical_id).map(|q| q.url.as_str())
    }

    /// A function's resolved `Environment.Variables` (with `Globals`).
    pub fn function_env(&self, logical_id: &str) -> Option<&BTreeMap<String, String>> {
        self.model.function(logical_id).map(|f| &f.environment)
    }

    /// The whole environment a function's process gets (less `AWS_LAMBDA_RUNTIME_API`).
    pub fn function_process_env(&self, logical_id: &str) -> Option<&BTreeMap<String, String>> {
        self.functions.get(logical_id).map(|h| &h.config().env)
    }

    /// The last lines a function's process printed (its log, as CloudWatch
    /// would hold it).
    pub fn function_log_tail(&self, logical_id: &str) -> Option<String> {
        self.functions.get(logical_id).map(|h| h.log_tail())
    }

    /// Invokes a function directly, as `aws lambda invoke` would.
    pub async fn invoke(
        &self,
        function_logical_id: &str,
        payload: Value,
    ) -> Result<Value, InvokeError> {
        self.functions.invoke(function_logical_id, &payload).await
    }

    /// The proxy between the functions (and the SQS pollers) and the
    /// emulator: tests inject faults through it, and read the calls it
    /// refused ([`Proxy::denials`]).
    pub fn proxy(&self) -> &Arc<Proxy> {
        &self.proxy
    }

    /// The pipeline's movements so far: what the tests' waits watch.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Whether every queue that feeds a function is empty: no message
    /// waiting, in flight (taken and not yet deleted, or failed and waiting
    /// out its visibility timeout) or delayed. Dead-letter queues, which
    /// feed nothing, are not looked at.
    pub async fn queues_drained(&self) -> Result<bool, String> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        for function in &self.model.functions {
            for event in &function.events {
                let EventSource::Sqs(source) = &event.source else {
                    continue;
                };
                let attributes = sqs
                    .get_queue_attributes()
                    .queue_url(&source.queue_url)
                    .attribute_names(A::All)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "{}: {}",
                            source.queue,
                            aws_sdk_sqs::error::DisplayErrorContext(e)
                        )
                    })?;
                let count = |name: A| {
                    attributes
                        .attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let messages = count(A::ApproximateNumberOfMessages)
                    + count(A::ApproximateNumberOfMessagesNotVisible)
                    + count(A::ApproximateNumberOfMessagesDelayed);
                if messages > 0 {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Kills a function's process at once, as a crashed Lambda sandbox: an
    /// invocation in flight fails (an SQS batch comes back after its
    /// visibility timeout) and the next invocation starts a fresh process.
    pub fn kill_function(&self, logical_id: &str) -> bool {
        match self.functions.get(logical_id) {
            Some(host) => {
                host.kill_now();
                true
            }
            None => false,
        }
    }

    /// What the functions and the SQS pollers used so far, when the stack was
    /// started [`metered`](DevOptions::metered).
    pub fn usage(&self) -> Option<crate::proxy::Usage> {
        self.metered.then(|| self.proxy.usage())
    }

    /// The emails the emulator recorded (every stack's: they share the emulator).
    pub async fn sent_emails(&self) -> Result<Vec<Value>, EmulatorError> {
        crate::emulator::sent_emails(self.emulator.endpoint()).await
    }

    /// What runs and how to use it, as `leadflow dev` prints it.
    pub fn summary(&self) -> String {
        let api = self.api_url();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "leadflow dev: stack {} is running",
            self.model.stack_name
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "  HTTP API      {api}");
        for (route, function) in self.model.routes() {
            let _ = writeln!(
                out,
                "    {:<8} {:<24} -> {function}",
                route.method, route.path
            );
        }
        let _ = writeln!(
            out,
            "  Landing page  {api}/  (form posts to {api}/inquiries)"
        );
        let _ = writeln!(out, "  Emulator      {} (moto)", self.endpoint());
        let _ = writeln!(
            out,
            "  Roles         each function's Policies enforced on its AWS calls (refusals are logged)"
        );
        for table in &self.model.tables {
            let _ = writeln!(
                out,
                "  Table         {:<28} {}",
                table.logical_id, table.name
            );
        }
        for queue in &self.model.queues {
            let _ = writeln!(
                out,
                "  Queue         {:<28} {}",
                queue.logical_id, queue.url
            );
        }
        for identity in &self.model.email_identities {
            let _ = writeln!(
                out,
                "  SES identity  {:<28} {} (verified)",
                identity.logical_id, identity.identity
            );
        }
        for function in &self.model.functions {
            let exe = self
                .functions
                .get(&function.logical_id)
                .map(|h| h.config().exe.display().to_string())
                .unwrap_or_default();
            let _ = writeln!(out, "  Function      {:<28} {exe}", function.logical_id);
            for event in &function.events {
                match &event.source {
                    EventSource::Sqs(s) => {
                        let _ = writeln!(
                            out,
                            "                  <- SQS {} (batch {})",
                            s.queue, s.batch_size
                        );
                    }
                    EventSource::Schedule(s) => {
                        let period = self.schedule_periods.get(&function.logical_id).copied();
                        let every = match period.flatten() {
                            Some(p) => format!("every {p:?} (overridden)"),
                            None => format!("{} ", s.expression),
                        };
                        let _ = writeln!(out, "                  <- schedule {}", every.trim());
                    }
                    EventSource::HttpApi(r) => {
                        let _ = writeln!(out, "                  <- {}", r.route_key());
                    }
                }
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "Try it:");
        let _ = writeln!(out, "  open {api}/ in a browser and send the form, or");
        let _ = writeln!(
            out,
            "  curl -si {api}/inquiries -d email=ada@example.com -d first_name=Ada -d company=Analytical -d request_type=demo"
        );
        let _ = writeln!(
            out,
            "  curl -s {api}/_dev/emails                 # emails sent so far"
        );
        let _ = writeln!(
            out,
            "  curl -s {}/moto-api/data.json      # everything in the emulator",
            self.endpoint()
        );
        if let Some(table) = self.model.tables.first() {
            let _ = writeln!(
                out,
                "  AWS_ENDPOINT_URL={} aws dynamodb scan --table-name {}",
                self.endpoint(),
                table.name
            );
        }
        if self
            .model
            .routes()
            .iter()
            .any(|(r, _)| r.authorizer.is_some())
        {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Sign in as a playbook person (the rep's API needs an ID token of the local user pool):"
            );
            let mut target = String::new();
            if self.model.stack_name != "leadflow-dev" {
                let _ = write!(target, " --stack-name {}", self.model.stack_name);
            }
            if self.endpoint() != "http://127.0.0.1:4566" {
                let _ = write!(target, " --endpoint {}", self.endpoint());
            }
            let _ = writeln!(
                out,
                "  TOKEN=$(cargo run -q -p leadflow-infra --bin leadflow -- token --rep lena.fischer{target})"
            );
            let _ = writeln!(
                out,
                "  curl -s {}/tasks -H \"authorization: Bearer $TOKEN\"",
                self.api_url()
            );
            if self
                .model
                .routes()
                .iter()
                .any(|(r, _)| r.path.starts_with("/app"))
            {
                let _ = writeln!(
                    out,
                    "or open the web workspace and pick a person: {}/app/",
                    self.api_url()
                );
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "Ctrl-C stops everything.");
        out
    }

    /// Stops the event sources, the gateway, every function process and (if
    /// this stack started it) the emulator, waiting for each.
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.stop().await;
        }
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
        self.functions.stop_all().await;
        self.emulator.stop().await;
    }
}

impl Drop for RunningStack {
    fn drop(&mut self) {
        // A refused call is a deployment that would fail in AWS: said again
        // at the end, where a test's output (or a `make dev` session) ends.
        let denials = self.proxy.denials();
        if !denials.is_empty() {
            eprintln!(
                "leadflow-local: stack {}: {} call(s) refused by the functions' roles:",
                self.model.stack_name,
                denials.len()
            );
            for denial in denials.iter().take(20) {
                eprintln!("  {denial}");
            }
        }
        self.tasks.clear();
        self.functions.kill_all_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_stacks_can_move_between_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RunningStack>();
        assert_send_sync::<DevOptions>();
    }

    #[test]
    fn parameters_naming_the_default_port_follow_the_real_one() {
        let template =
            Template::load(&crate::root::template_path(&crate::root::workspace_root())).unwrap();
        let overrides =
            BTreeMap::from([("ThankYouUrl".to_string(), "https://x/thanks".to_string())]);
        let params = localized_parameters(&template, &overrides, 4000);
        assert_eq!(params["ThankYouUrl"], "https://x/thanks");
        assert_eq!(
            params["AllowedOrigins"],
            "http://127.0.0.1:4000,http://localhost:4000"
        );
        assert_eq!(
            params["RedirectAllowlist"],
            "http://127.0.0.1:4000/,http://localhost:4000/"
        );
        assert!(!params.contains_key("SenderAddress"));
        let at_3000 = localized_parameters(&template, &overrides, 3000);
        assert_eq!(at_3000["ThankYouUrl"], "https://x/thanks");
        assert_eq!(
            at_3000["AllowedOrigins"],
            "http://127.0.0.1:3000,http://localhost:3000"
        );
    }
}
