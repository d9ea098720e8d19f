use super::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn real_template() -> Template {
    Template::load(&crate::root::template_path(&crate::root::workspace_root()))
        .expect("template.yaml parses")
}

fn settings() -> StackSettings {
    let mut s = StackSettings::new("t1", "http://127.0.0.1:4566");
    s.parameter_overrides = crate::dev::local_parameters(&real_template(), 3000);
    s
}

#[test]
fn the_landing_pages_must_be_given_at_deploy_time() {
    let bare = StackSettings::new("t1", "http://127.0.0.1:4566");
    let err = StackModel::resolve(&real_template(), &bare)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no Default"), "{err}");
    for name in ["AllowedOrigins", "ThankYouUrl", "RedirectAllowlist"] {
        assert!(real_template().parameters[name].default.is_none(), "{name}");
    }
}

fn resolve(text: &str) -> Result<StackModel> {
    StackModel::resolve(
        &Template::parse(text)?,
        &StackSettings::new("t1", "http://127.0.0.1:4566"),
    )
}

#[test]
fn short_tags_become_long_forms() {
    let v: Value = serde_yaml::from_str("a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub 'x-${Y}'").unwrap();
    let v = normalize(v);
    assert_eq!(v["a"]["Ref"], Value::String("X".into()));
    assert_eq!(v["b"]["Fn::GetAtt"][1], Value::String("Arn".into()));
    assert_eq!(v["c"]["Fn::Sub"], Value::String("x-${Y}".into()));
    let long: Value = serde_yaml::from_str("b: {\"Fn::GetAtt\": Q.Arn}").unwrap();
    assert_eq!(
        normalize(long)["b"]["Fn::GetAtt"][0],
        Value::String("Q".into())
    );
}

#[test]
fn real_template_resources() {
    let model = StackModel::resolve(&real_template(), &settings()).unwrap();
    let ids = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();

    let table = model.table("LeadsTable").unwrap();
    assert_eq!(table.name, "t1-LeadsTable");
    assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
    assert_eq!(table.key_schema.len(), 2);
    assert_eq!(table.attribute_definitions.len(), 6);
    let gsis: Vec<_> = table
        .global_secondary_indexes
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(gsis, ["by_owner", "by_due"]);
    assert_eq!(table.global_secondary_indexes[0].projection_type, "ALL");
    assert_eq!(table.ttl_attribute.as_deref(), Some("expires_at"));

    // Dead-letter queues come first.
    let queues: Vec<_> = model.queues.iter().map(|q| q.logical_id.clone()).collect();
    let pos = |id: &str| queues.iter().position(|q| q == id).unwrap();
    assert!(pos("RoutingDeadLetterQueue") < pos("RoutingQueue"));
    assert!(pos("FulfillmentDeadLetterQueue") < pos("FulfillmentQueue"));
    let routing = model.queue("RoutingQueue").unwrap();
    assert_eq!(routing.name, "t1-RoutingQueue");
    assert_eq!(
        routing.url,
        "http://127.0.0.1:4566/123456789012/t1-RoutingQueue"
    );
    assert_eq!(
        routing.arn,
        "arn:aws:sqs:us-east-1:123456789012:t1-RoutingQueue"
    );
    assert_eq!(routing.attributes["VisibilityTimeout"], "180");
    let redrive = routing.redrive.as_ref().unwrap();
    assert_eq!(redrive.max_receive_count, 5);
    assert_eq!(
        redrive.dead_letter_logical_id.as_deref(),
        Some("RoutingDeadLetterQueue")
    );
    let policy: serde_json::Value =
        serde_json::from_str(&routing.attributes["RedrivePolicy"]).unwrap();
    assert_eq!(
        policy["deadLetterTargetArn"],
        "arn:aws:sqs:us-east-1:123456789012:t1-RoutingDeadLetterQueue"
    );
    assert_eq!(policy["maxReceiveCount"], 5);

    // The buckets, named as CloudFormation would (lower case), and the
    // export bucket's ARN in the roles that use it.
    let buckets: Vec<_> = model.buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(buckets, ["t1-analyticsbucket", "t1-exportbucket"]);
    let exports = model.function("ExportsFunction").unwrap();
    assert_eq!(exports.environment["EXPORT_BUCKET"], "t1-exportbucket");
    assert!(exports
        .policies
        .iter()
        .any(|p| p.resources == ["arn:aws:s3:::t1-exportbucket/exports/*"]));

    assert_eq!(model.email_identities.len(), 1);
    assert_eq!(model.email_identities[0].identity, "leads@example.com");
    assert!(model.conditions["CreateSenderIdentity"]);
    assert_eq!(model.http_apis.len(), 1);

    let functions: Vec<_> = model
        .functions
        .iter()
        .map(|f| f.logical_id.clone())
        .collect();
    assert_eq!(
        functions,
        ids(vec![
            "EmailEventsFunction",
            "ExportsFunction",
            "FulfillmentFunction",
            "IntakeFunction",
            "NurtureFunction",
            "OutboxFunction",
            "RemindersFunction",
            "RouterFunction",
            "SalesFunction"
        ])
    );
}

#[test]
fn real_template_functions_and_environment() {
    let model = StackModel::resolve(&real_template(), &settings()).unwrap();
    let intake = model.function("IntakeFunction").unwrap();
    assert_eq!(intake.code_uri, "functions/intake");
    assert_eq!(intake.binary.as_deref(), Some("intake"));
    assert_eq!(intake.timeout, Duration::from_secs(10));
    assert_eq!(intake.memory_size, 256);
    assert_eq!(intake.function_name, "t1-IntakeFunction");
    // Globals merged with the function's own variables.
    let env = &intake.environment;
    assert_eq!(env["RUST_LOG"], "info");
    assert_eq!(env["TABLE_NAME"], "t1-LeadsTable");
    assert_eq!(
        env["ROUTING_QUEUE_URL"],
        "http://127.0.0.1:4566/123456789012/t1-RoutingQueue"
    );
    // Only the queues it sends to.
    assert!(!env.contains_key("FULFILLMENT_QUEUE_URL"));
    let outbox = &model.function("OutboxFunction").unwrap().environment;
    assert_eq!(
        outbox["FULFILLMENT_QUEUE_URL"],
        "http://127.0.0.1:4566/123456789012/t1-FulfillmentQueue"
    );
    assert_eq!(
        env["ALLOWED_ORIGINS"],
        "http://127.0.0.1:3000,http://localhost:3000"
    );
    assert_eq!(env["THANK_YOU_URL"], "http://127.0.0.1:3000/thanks.html");
    assert!(env.contains_key("REDIRECT_ALLOWLIST"));
    assert!(!env.contains_key("SENDER_ADDRESS"));

    let routes: Vec<_> = model
        .routes()
        .iter()
        .map(|(r, f)| (r.route_key(), f.clone()))
        .collect();
    assert!(routes.contains(&("POST /inquiries".into(), "IntakeFunction".into())));
    assert!(routes.contains(&("OPTIONS /inquiries".into(), "IntakeFunction".into())));
    assert!(routes.contains(&("GET /leads/{lead_id}".into(), "SalesFunction".into())));
    assert!(routes.contains(&("GET /reports/{name}".into(), "SalesFunction".into())));
    assert!(routes.contains(&("GET /spam".into(), "SalesFunction".into())));
    assert!(routes.contains(&(
        "POST /spam/{spam_id}/release".into(),
        "SalesFunction".into()
    )));
    assert!(routes.contains(&("GET /exports/{export_id}".into(), "SalesFunction".into())));
    assert!(routes.contains(&("POST /exports".into(), "SalesFunction".into())));
    assert_eq!(routes.len(), 20);
    // Sign-in on every route but the public intake, the signed links and the
    // workspace's static files (the page signs in, then calls the API).
    for (route, _) in model.routes() {
        let key = route.route_key();
        let public = key.ends_with(" /inquiries")
            || key.ends_with(" /actions/{token}")
            || key.ends_with(" /unsubscribe")
            || key == "GET /app"
            || key == "GET /app/{file+}";
        assert_eq!(route.authorizer.is_none(), public, "{key}");
        if !public {
            assert_eq!(route.authorizer.as_deref(), Some("RepJwt"));
        }
    }
    let fulfillment = &model.function("FulfillmentFunction").unwrap().environment;
    assert_eq!(fulfillment["PUBLIC_API_URL"], "http://127.0.0.1:3000");
    assert!(
        fulfillment["ACTION_LINK_KEYS_SECRET"].starts_with("arn:aws:secretsmanager:"),
        "{}",
        fulfillment["ACTION_LINK_KEYS_SECRET"]
    );
    // The link keys: made locally with the checkout's key under the
    // template's key id, in the JSON the functions read.
    assert_eq!(model.secrets.len(), 1);
    let keys = &model.secrets[0];
    assert_eq!(keys.logical_id, "ActionLinkKeys");
    assert_eq!(keys.generate_key.as_deref(), Some("key"));
    let value = crate::secrets::local_value(keys, "0123456789abcdef0123456789abcdef").unwrap();
    assert_eq!(
        leadflow::links::LinkKey::from_secret(&value).unwrap().kid(),
        "k1"
    );
    assert_eq!(
        fulfillment["SES_CONFIGURATION_SET"],
        "t1-EmailConfigurationSet"
    );
    // SES events: configuration set → topic → the email-events queue.
    assert_eq!(
        model.configuration_sets,
        vec!["t1-EmailConfigurationSet".to_string()]
    );
    let route = &model.ses_event_routes[0];
    assert_eq!(route.configuration_set, "t1-EmailConfigurationSet");
    assert_eq!(
        route.queue_urls,
        vec![model.queue("EmailEventsQueue").unwrap().url.clone()]
    );

    let router = model.function("RouterFunction").unwrap();
    let EventSource::Sqs(sqs) = &router.events[0].source else {
        panic!("router is fed by SQS");
    };
    assert_eq!(sqs.queue, "RoutingQueue");
    assert_eq!(sqs.batch_size, 10);
    assert!(sqs.report_batch_item_failures);
    assert_eq!(sqs.queue_url, model.queue("RoutingQueue").unwrap().url);

    let fulfillment = model.function("FulfillmentFunction").unwrap();
    assert_eq!(
        fulfillment.environment["SENDER_ADDRESS"],
        "leads@example.com"
    );

    // Every function's metrics: the namespace, and the stack's name as a dimension.
    for f in &model.functions {
        assert_eq!(
            f.environment["METRICS_NAMESPACE"], "Leadflow",
            "{}",
            f.logical_id
        );
        assert_eq!(f.environment["STACK_NAME"], "t1", "{}", f.logical_id);
    }

    let outbox = model.function("OutboxFunction").unwrap();
    let EventSource::Schedule(schedule) = &outbox.events[0].source else {
        panic!("outbox runs on a schedule");
    };
    assert_eq!(schedule.period, Duration::from_secs(60));
    assert!(schedule
        .rule_arn
        .starts_with("arn:aws:events:us-east-1:123456789012:rule/"));
}

#[test]
fn parameters_and_conditions() {
    let template = real_template();
    let mut s = settings();
    s.parameter_overrides
        .insert("CreateSenderIdentity".into(), "false".into());
    s.parameter_overrides
        .insert("SenderAddress".into(), "me@example.org".into());
    s.parameter_overrides
        .insert("LogLevel".into(), "debug".into());
    let model = StackModel::resolve(&template, &s).unwrap();
    assert!(model.email_identities.is_empty());
    assert!(!model.conditions["CreateSenderIdentity"]);
    let f = model.function("FulfillmentFunction").unwrap();
    assert_eq!(f.environment["SENDER_ADDRESS"], "me@example.org");
    assert_eq!(f.environment["RUST_LOG"], "debug");

    let mut bad = settings();
    bad.parameter_overrides
        .insert("LogLevel".into(), "loud".into());
    let err = StackModel::resolve(&template, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("LogLevel"), "{err}");

    let mut unknown = settings();
    unknown
        .parameter_overrides
        .insert("Nope".into(), "x".into());
    let err = StackModel::resolve(&template, &unknown)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Nope"), "{err}");
}

#[test]
fn reported_queue_urls_win() {
    let mut s = settings();
    s.queue_urls
        .insert("RoutingQueue".into(), "http://elsewhere/1/q".into());
    let model = StackModel::resolve(&real_template(), &s).unwrap();
    let intake = model.function("IntakeFunction").unwrap();
    assert_eq!(
        intake.environment["ROUTING_QUEUE_URL"],
        "http://elsewhere/1/q"
    );
}

const SMALL: &str = r#"
Parameters:
  Env: { Type: String, Default: dev }
  Names: { Type: CommaDelimitedList, Default: "a,b" }
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  IsProd: !Not [!Equals [!Ref Env, dev]]
Globals:
  Function:
    Timeout: 7
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
  Prod:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Role:
    Type: AWS::IAM::Role
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/x
      Environment:
        Variables:
          OVERRIDDEN: local
          SUB: !Sub "${AWS::Region}/${Q.QueueName}/${Env}/${!Literal}"
          SUB_VARS: !Sub ["${A}-${AWS::AccountId}", { A: !Ref Env }]
          SELECT: !Sub ["${E}|${N}|${Q.Arn}", { E: !Ref Env, N: !Select [1, !Ref Names] }]
          IF: !If [IsProd, prod, !If [IsDev, both, neither]]
          GONE: !If [IsProd, x, !Ref AWS::NoValue]
          STACK: !Select [0, !Split ["-", !GetAtt Q.QueueName]]
          SPLIT: !Select [2, !Split [",", "p,q,r"]]
          URL: !GetAtt Q.QueueUrl
          STACK_NAME: !Ref AWS::StackName
          STACK_SUB: !Sub "${AWS::StackName}-x"
      Events:
        Get:
          Type: HttpApi
          Properties: { Path: "/items/{id}", Method: get }
        Every:
          Type: Schedule
          Properties: { Schedule: rate(5 minutes), Input: '{"k": 1}' }
        Off:
          Type: Schedule
          Properties: { Schedule: rate(1 hour), Enabled: false }
"#;

#[test]
fn intrinsic_functions() {
    let model = resolve(SMALL).unwrap();
    assert!(model.queue("Prod").is_none());
    let q = model.queue("Q").unwrap();
    assert_eq!(q.name, "t1-Q.fifo");
    assert_eq!(q.attributes["FifoQueue"], "true");
    let f = model.function("Fn").unwrap();
    assert_eq!(f.timeout, Duration::from_secs(7));
    let env = &f.environment;
    assert_eq!(env["SHARED"], "global");
    assert_eq!(env["OVERRIDDEN"], "local");
    assert_eq!(env["SUB"], "us-east-1/t1-Q.fifo/dev/${Literal}");
    assert_eq!(env["SUB_VARS"], "dev-123456789012");
    assert_eq!(
        env["SELECT"],
        "dev|b|arn:aws:sqs:us-east-1:123456789012:t1-Q.fifo"
    );
    assert_eq!(env["IF"], "both");
    assert!(!env.contains_key("GONE"));
    assert_eq!(env["STACK"], "t1");
    assert_eq!(env["SPLIT"], "r");
    assert_eq!(env["URL"], q.url);
    assert_eq!(env["STACK_NAME"], "t1");
    assert_eq!(env["STACK_SUB"], "t1-x");
    // The implicit API and its route; the disabled schedule is not run.
    assert_eq!(model.http_apis[0].logical_id, "ServerlessHttpApi");
    assert_eq!(f.events.len(), 2);
    let (route, function) = &model.routes()[0];
    assert_eq!(route.route_key(), "GET /items/{id}");
    assert_eq!(function, "Fn");
    let EventSource::Schedule(s) = &f.events.iter().find(|e| e.name == "Every").unwrap().source
    else {
        panic!("schedule");
    };
    assert_eq!(s.period, Duration::from_secs(300));
    assert_eq!(s.input, Some(json!({"k": 1})));
}

#[test]
fn unsupported_things_are_errors_naming_the_resource() {
    let cron = SMALL.replace("rate(5 minutes)", "cron(0 12 * * ? *)");
    let err = resolve(&cron).unwrap_err().to_string();
    assert!(err.contains("Fn") && err.contains("cron"), "{err}");

    let stream = SMALL.replace("Type: HttpApi", "Type: DynamoDB");
    let err = resolve(&stream).unwrap_err().to_string();
    assert!(err.contains("Fn") && err.contains("DynamoDB"), "{err}");

    // (SNS topics run locally now, as the SES events' route: another type stands in.)
    let stream = format!("{SMALL}\n  Stream:\n    Type: AWS::Kinesis::Stream\n");
    let err = resolve(&stream).unwrap_err().to_string();
    assert!(
        err.contains("Stream") && err.contains("AWS::Kinesis::Stream"),
        "{err}"
    );

    let bad_ref = SMALL.replace(
        "STACK: !Select",
        "STACK: !Ref Missing\n          X: !Select",
    );
    let err = resolve(&bad_ref).unwrap_err().to_string();
    assert!(err.contains("Missing"), "{err}");

    let ref_off = SMALL.replace("STACK: !Select", "STACK: !Ref Prod\n          X: !Select");
    let err = resolve(&ref_off).unwrap_err().to_string();
    assert!(err.contains("Prod") && err.contains("Condition"), "{err}");

    let python = SMALL.replace(
        "CodeUri: functions/x",
        "CodeUri: functions/x\n      Runtime: python3.12",
    );
    let err = resolve(&python).unwrap_err().to_string();
    assert!(err.contains("python3.12"), "{err}");
}

#[test]
fn the_real_template_uses_only_what_the_local_stack_evaluates() {
    let text = std::fs::read_to_string(crate::root::template_path(&crate::root::workspace_root()))
        .unwrap();
    let doc = normalize(serde_yaml::from_str(&text).unwrap());
    let mut used = std::collections::BTreeSet::new();
    fn walk(v: &Value, used: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    let k = k.as_str().unwrap_or_default();
                    if m.len() == 1 && (k == "Ref" || k.starts_with("Fn::")) {
                        used.insert(k.to_string());
                    }
                    walk(v, used);
                }
            }
            Value::Sequence(items) => items.iter().for_each(|i| walk(i, used)),
            _ => {}
        }
    }
    walk(&doc, &mut used);
    let supported: std::collections::BTreeSet<String> =
        SUPPORTED_FUNCTIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(used, supported, "evaluate exactly what template.yaml uses");
}

#[test]
fn other_intrinsics_and_pseudo_parameters_are_refused_naming_where() {
    for (line, name) in [
        ("JOINED: !Join [\"|\", [a, b]]", "Fn::Join"),
        ("B64: !Base64 text", "Fn::Base64"),
        ("MAPPED: !FindInMap [M, a, b]", "Fn::FindInMap"),
        (
            "IMPORTED: !ImportValue other-stack-export",
            "Fn::ImportValue",
        ),
        ("LONG: {\"Fn::ToJsonString\": {a: 1}}", "Fn::ToJsonString"),
        (
            "NOTIFY: !Ref AWS::NotificationARNs",
            "AWS::NotificationARNs",
        ),
        ("IN_SUB: !Sub \"${AWS::StackId}-x\"", "AWS::StackId"),
    ] {
        let text = SMALL.replace("GONE: ", &format!("{line}\n          GONE: "));
        let err = Template::parse(&text).unwrap_err().to_string();
        let key = line.split(':').next().unwrap();
        assert!(
            err.contains(&format!("Resources.Fn.Properties.Environment.Variables.{key} uses {name}, which the local stack does not evaluate")),
            "{err}"
        );
    }
    // Anywhere in the file, conditions and outputs included.
    let cond = SMALL.replace(
        "IsDev: !Equals [!Ref Env, dev]",
        "IsDev: !And [!Equals [!Ref Env, dev], !Equals [x, x]]",
    );
    let err = Template::parse(&cond).unwrap_err().to_string();
    assert!(err.contains("Conditions.IsDev uses Fn::And"), "{err}");
    let output = format!("{SMALL}\nOutputs:\n  A:\n    Value: !GetAZs \"\"\n");
    let err = Template::parse(&output).unwrap_err().to_string();
    assert!(err.contains("Outputs.A.Value uses Fn::GetAZs"), "{err}");
}

#[test]
fn rate_expressions() {
    assert_eq!(parse_rate("rate(1 minute)"), Ok(Duration::from_secs(60)));
    assert_eq!(parse_rate("rate(5 minutes)"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_rate("rate(1 hour)"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_rate("rate(2 hours)"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_rate("rate(1 day)"), Ok(Duration::from_secs(86400)));
    assert_eq!(parse_rate("rate(30 seconds)"), Ok(Duration::from_secs(30)));
    assert!(parse_rate("rate(1 minutes)").is_err());
    assert!(parse_rate("rate(5 minute)").is_err());
    assert!(parse_rate("rate(0 minutes)").is_err());
    assert!(parse_rate("rate(x minutes)").is_err());
    assert!(parse_rate("rate(5 fortnights)").is_err());
    assert!(parse_rate("cron(0 12 * * ? *)")
        .unwrap_err()
        .contains("cron"));
}

#[test]
fn physical_names_are_sanitised() {
    assert_eq!(physical_name("dev", "Queue", 80), "dev-Queue");
    assert_eq!(physical_name("a.b", "Q", 80), "a-b-Q");
    assert_eq!(physical_name(&"x".repeat(100), "Q", 80).len(), 80);
}

#[test]
fn globals_merge_rules() {
    let g: Value = serde_yaml::from_str("{a: 1, m: {x: 1, y: 2}, l: [1], r: {Ref: X}}").unwrap();
    let l: Value =
        serde_yaml::from_str("{a: 2, m: {y: 3}, l: [2], r: {\"Fn::GetAtt\": [Q, Arn]}}").unwrap();
    let m = merge_globals(&g, &l);
    assert_eq!(m["a"], Value::from(2));
    assert_eq!(m["m"]["x"], Value::from(1));
    assert_eq!(m["m"]["y"], Value::from(3));
    assert_eq!(m["l"], serde_yaml::from_str::<Value>("[1, 2]").unwrap());
    assert!(m["r"].get("Ref").is_none());
}

#[test]
fn the_public_intake_may_touch_only_the_item_kinds_it_writes() {
    let text = std::fs::read_to_string(crate::root::template_path(&crate::root::workspace_root()))
        .unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let statements = doc["Resources"]["IntakeFunction"]["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let mut dynamo = 0;
    for st in statements {
        let actions = match &st["Action"] {
            serde_yaml::Value::Sequence(a) => a.clone(),
            one => vec![one.clone()],
        };
        if !actions
            .iter()
            .any(|a| a.as_str().is_some_and(|a| a.starts_with("dynamodb:")))
        {
            continue;
        }
        dynamo += 1;
        let keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            .as_sequence()
            .unwrap_or_else(|| panic!("no LeadingKeys condition on {actions:?}"));
        for k in keys {
            let k = k.as_str().unwrap();
            assert!(k.len() > 2 && k.ends_with("#*"), "{actions:?}: {k}");
        }
        if actions
            .iter()
            .any(|a| a.as_str() == Some("dynamodb:DeleteItem"))
        {
            assert_eq!(keys.len(), 1, "deletes only its outbox entries");
            assert_eq!(keys[0].as_str(), Some("OUTBOX#*"));
        }
    }
    assert!(dynamo >= 3);
}

#[test]
fn consumers_are_capped_and_the_intake_keeps_its_own_concurrency() {
    let text = std::fs::read_to_string(crate::root::template_path(&crate::root::workspace_root()))
        .unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let r = &doc["Resources"];
    for (function, event) in [
        ("RouterFunction", "Routing"),
        ("FulfillmentFunction", "Fulfillment"),
    ] {
        let scaling = &r[function]["Properties"]["Events"][event]["Properties"]["ScalingConfig"];
        assert!(
            !scaling["MaximumConcurrency"].is_null(),
            "{function}: no MaximumConcurrency"
        );
    }
    assert!(!r["IntakeFunction"]["Properties"]["ReservedConcurrentExecutions"].is_null());
    assert_eq!(
        doc["Parameters"]["FulfillmentMaxConcurrency"]["Default"].as_u64(),
        Some(2)
    );
}

#[test]
fn operations_resources_are_skipped_locally_even_with_an_alarm_email() {
    let mut s = settings();
    s.parameter_overrides
        .insert("AlarmEmail".into(), "ops@example.com".into());
    let model = StackModel::resolve(&real_template(), &s).unwrap();
    assert!(model.conditions["HasAlarmEmail"]);
    assert!(
        !StackModel::resolve(&real_template(), &settings())
            .unwrap()
            .conditions["HasAlarmEmail"]
    );
    // The SES events' route is the only one: the alarm topic's subscriber is a person.
    assert_eq!(model.ses_event_routes.len(), 1);
    assert_eq!(
        model.ses_event_routes[0].queue_urls,
        [model.queue("EmailEventsQueue").unwrap().url.clone()]
    );
    let template = real_template();
    for (id, ty) in [
        ("PipelineDashboard", "AWS::CloudWatch::Dashboard"),
        ("SlaBreachAlarm", "AWS::CloudWatch::Alarm"),
        ("RoutingDeadLetterAlarm", "AWS::CloudWatch::Alarm"),
        ("AlarmTopic", "AWS::SNS::Topic"),
        ("AnalyticsBucket", "AWS::S3::Bucket"),
        ("AnalyticsWorkGroup", "AWS::Athena::WorkGroup"),
        ("AnalyticsDatabase", "AWS::Glue::Database"),
    ] {
        assert_eq!(template.resources[id].ty, ty, "{id}");
    }
    // A subscription by another protocol is still refused, naming the resource.
    let lambda = format!(
        "{SMALL}\n  T:\n    Type: AWS::SNS::Topic\n  Sub:\n    Type: AWS::SNS::Subscription\n    Properties: {{ Protocol: lambda, TopicArn: !Ref T, Endpoint: x }}\n"
    );
    let err = resolve(&lambda).unwrap_err().to_string();
    assert!(
        err.contains("Sub") && err.contains("SQS subscriptions"),
        "{err}"
    );
}

#[test]
fn every_sqs_trigger_outlasts_its_function_six_times_and_its_leases() {
    // AWS's advice: a queue's visibility timeout at least six times its
    // consumer's timeout. And longer than any lease the consumer takes on
    // a message's work: else the first redelivery always finds the lease
    // still held, fails, and spends one of the queue's receives for nothing.
    let leases = BTreeMap::from([(
        "FulfillmentFunction",
        leadflow::app::fulfill::SEND_LEASE.to_std().unwrap(),
    )]);
    let model = StackModel::resolve(&real_template(), &settings()).unwrap();
    let mut checked = 0;
    for function in &model.functions {
        for event in &function.events {
            let EventSource::Sqs(source) = &event.source else {
                continue;
            };
            let queue = model.queue(&source.queue).unwrap();
            let visibility =
                Duration::from_secs(queue.attributes["VisibilityTimeout"].parse().unwrap());
            assert!(
                visibility >= 6 * function.timeout,
                "{}: {} visibility {visibility:?} < 6 x timeout {:?}",
                function.logical_id,
                queue.logical_id,
                function.timeout
            );
            if let Some(lease) = leases.get(function.logical_id.as_str()) {
                assert!(
                    visibility > *lease,
                    "{}: {} visibility {visibility:?} <= its lease {lease:?}",
                    function.logical_id,
                    queue.logical_id
                );
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked, 4,
        "the routing, fulfillment, email events and export triggers"
    );
}

#[test]
fn every_function_has_its_roles_statements_and_sams_poller_policy() {
    let model = StackModel::resolve(&real_template(), &settings()).unwrap();
    let table = model.table("LeadsTable").unwrap().name.clone();
    for function in &model.functions {
        assert!(
            !function.policies.is_empty(),
            "{} has no statements",
            function.logical_id
        );
        for statement in &function.policies {
            for resource in &statement.resources {
                assert!(
                    resource == "*" || resource.starts_with("arn:aws:"),
                    "{}: {resource} is resolved to an ARN",
                    function.logical_id
                );
            }
        }
    }
    let router = model.function("RouterFunction").unwrap();
    let routing = model.queue("RoutingQueue").unwrap();
    assert!(
        router
            .policies
            .iter()
            .any(|s| s.resources == [routing.arn.clone()]
                && s.actions.contains(&"sqs:ReceiveMessage".to_string())),
        "SAM's SQSPollerPolicy on its event's queue"
    );
    let outbox = model.function("OutboxFunction").unwrap();
    let deletes = outbox
        .policies
        .iter()
        .find(|s| s.actions.contains(&"dynamodb:BatchWriteItem".to_string()))
        .expect("the outbox clears in batches");
    assert!(deletes.resources[0].ends_with(&format!("table/{table}")));
    assert_eq!(deletes.conditions[0].key, "dynamodb:LeadingKeys");
    assert_eq!(deletes.conditions[0].values, ["OUTBOX#*"]);
}

#[test]
fn every_api_function_answers_within_api_gateways_integration_timeout() {
    // The HTTP API gives an integration 30 s. Every function behind it has
    // a Timeout within that, so the Lambda timeout the local stack enforces
    // (it kills the process, as Lambda does) is the one that binds, here and
    // in AWS alike.
    let model = StackModel::resolve(&real_template(), &settings()).unwrap();
    let api_functions: Vec<_> = model
        .functions
        .iter()
        .filter(|f| {
            f.events
                .iter()
                .any(|e| matches!(e.source, EventSource::HttpApi(_)))
        })
        .collect();
    assert!(api_functions.len() >= 2, "intake and sales at least");
    for f in api_functions {
        assert!(
            f.timeout <= Duration::from_secs(30),
            "{} has Timeout {:?}, beyond the HTTP API's 30 s",
            f.logical_id,
            f.timeout
        );
    }
}

/// Sign-in as the template declares it: the pool and client are made in the
/// emulator, whose ids the authorizer's issuer and audience name; a person
/// is who Cognito verified (the ID token carries `email_verified`, a user
/// cannot write their own address, and a new one waits for verification).
#[test]
fn the_user_pool_its_client_and_the_authorizer_that_checks_their_tokens() {
    let first = StackModel::resolve(&real_template(), &settings()).unwrap();
    let [pool] = first.user_pools.as_slice() else {
        panic!("one user pool: {:?}", first.user_pools);
    };
    assert_eq!(pool.name, "t1-UserPool");
    assert_eq!(pool.properties["UsernameAttributes"], json!(["email"]));
    assert_eq!(
        pool.properties["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"],
        json!(["email"])
    );
    assert_eq!(
        pool.properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"],
        json!(true)
    );
    let [client] = first.user_pool_clients.as_slice() else {
        panic!("one client: {:?}", first.user_pool_clients);
    };
    assert_eq!(client.user_pool, "UserPool");
    assert!(!client.properties.contains_key("UserPoolId"));
    let list = |key: &str| -> Vec<String> {
        serde_json::from_value(client.properties[key].clone()).unwrap()
    };
    for claim in ["email", "email_verified"] {
        assert!(list("ReadAttributes").iter().any(|a| a == claim), "{claim}");
    }
    assert!(
        !list("WriteAttributes")
            .iter()
            .any(|a| a == "email" || a == "email_verified"),
        "a user must not write their own address: {:?}",
        list("WriteAttributes")
    );

    let mut ids = settings();
    ids.cognito_ids = BTreeMap::from([
        ("UserPool".to_string(), "us-east-1_AbC123".to_string()),
        ("UserPoolClient".to_string(), "client1".to_string()),
    ]);
    let model = StackModel::resolve(&real_template(), &ids).unwrap();
    let api = model
        .http_apis
        .iter()
        .find(|a| a.logical_id == "LeadsApi")
        .unwrap();
    let [authorizer] = api.authorizers.as_slice() else {
        panic!("one authorizer: {:?}", api.authorizers);
    };
    assert_eq!(authorizer.name, "RepJwt");
    assert_eq!(
        authorizer.issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
    );
    assert_eq!(authorizer.audiences, vec!["client1".to_string()]);
}
