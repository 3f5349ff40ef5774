//! Diagnostics: a problem at a place in a spec file, rendered like a compiler error.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

use crate::spec::yaml::Span;

/// Declares [`Code`] and its table from one list, so the codes, their names, their meanings
/// and the example fixes in `schema/SPEC.md` cannot drift apart.
macro_rules! codes {
    ($($variant:ident = $code:literal $name:literal: $meaning:literal => $fix:literal;)*) => {
        /// The stable code of a kind of diagnostic, such as `E0201` (`unknown-field`). Codes
        /// are never reused or renumbered; a retired code stays reserved.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code itself, such as `E0201`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, such as `unknown-field`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// What the code means, in one sentence.
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning,)* }
            }

            /// A one-line example of a fix.
            pub fn example_fix(self) -> &'static str {
                match self { $(Code::$variant => $fix,)* }
            }
        }
    };
}

codes! {
    MoreProblems = "E0001" "more-problems": "A file has more problems than are shown; this entry counts the rest." => "Fix the problems shown and run again to see the next ones.";

    ModelsDirUnreadable = "E0101" "models-dir-unreadable": "The models directory cannot be read." => "Pass the directory that holds `providers/` with `--models DIR`.";
    FileUnreadable = "E0102" "file-unreadable": "A spec file cannot be read." => "Make the file readable by the user running `codegen`.";
    NotUtf8 = "E0103" "not-utf8": "A spec file is not UTF-8 text." => "Save the file as UTF-8.";
    FileTooLarge = "E0104" "file-too-large": "A spec file is larger than 1 MiB." => "Keep one model per file; write long texts out of the spec.";
    MisplacedFile = "E0105" "misplaced-file": "A spec file is where no kind of spec lives." => "Move `models/flux.yaml` to `models/acme/flux.yaml`.";
    YamlSyntax = "E0106" "yaml-syntax": "The file is not valid YAML." => "Close the quote in `display_name: \"Flux`, or fix the indentation.";
    EmptyFile = "E0107" "empty-file": "A spec file is empty." => "Write the spec's mapping, starting with `id: my_model`.";
    SecondDocument = "E0108" "second-document": "A spec file holds more than one YAML document." => "Remove the `---` line and put the second spec in its own file.";
    YamlAlias = "E0109" "yaml-alias": "A YAML alias (`*name`) is used; specs do not accept them." => "Replace `*defaults` with the value written out.";
    TooDeep = "E0110" "too-deep": "Lists and mappings nest deeper than 64 levels." => "Flatten the value: no spec field nests more than a few levels.";
    TooManyValues = "E0111" "too-many-values": "A file holds more than 10,000 values." => "Split the file: one model per file.";
    NonStringKey = "E0112" "non-string-key": "A mapping key is a list, mapping or other non-string." => "Write `[a, b]: 1` as `a_b: 1`.";
    DuplicateKey = "E0113" "duplicate-key": "A key appears twice in one mapping." => "Remove the second `timeout:` line.";
    NotAMapping = "E0114" "not-a-mapping": "The file's top level is not a mapping." => "Write `key: value` lines at the top level, not a list item `- id: x`.";
    InvalidSpec = "E0115" "invalid-spec": "A file that passed the schema could not be read as a spec (a bug in the schema)." => "Report the file; meanwhile write the field as SPEC.md shows it.";

    UnknownField = "E0201" "unknown-field": "A key the schema does not define." => "`tiemout: 1m` -> `timeout: 1m`.";
    MissingField = "E0202" "missing-field": "A required key is absent." => "Add `key_scope: text_to_image` to the model.";
    WrongType = "E0203" "wrong-type": "A value has the wrong type (a number for a string, a list for a mapping, ...)." => "`base: 8.5` -> `base: \"8.5\"`.";
    UnknownValue = "E0204" "unknown-value": "A value is not one of the values the field allows." => "`content_type: imgae` -> `content_type: image`.";
    BadForm = "E0205" "bad-form": "A string does not have the form the field requires (snake_case id, URL, path)." => "`path: v1/jobs` -> `path: /v1/jobs`.";
    OutOfRange = "E0206" "out-of-range": "A number, string or list is outside the limits of its field." => "`min_sample: -1` -> `min_sample: 10`.";
    InvalidValue = "E0207" "invalid-value": "A value the schema refuses for a reason no other code names." => "Compare the value with its field in `schema/SPEC.md`.";

    IdNotFileName = "E0301" "id-not-file-name": "A spec's `id` differs from its file name." => "In `acme/flux_dev.yaml`, write `id: flux_dev`.";
    DuplicateId = "E0302" "duplicate-id": "Two providers or two models have the same id." => "Rename the second `id: flux_dev` to `id: flux_dev_v2`.";
    UnknownProvider = "E0303" "unknown-provider": "A model names a provider that has no file." => "`provider: acm` -> `provider: acme`.";
    ProviderDirMismatch = "E0304" "provider-dir-mismatch": "A model file sits under another provider's directory." => "Move `models/plain/x.yaml` to `models/acme/x.yaml`, or write `provider: plain`.";
    UnknownKeyScope = "E0305" "unknown-key-scope": "A key scope the provider does not declare in `key_scopes`." => "`key_scope: text2image` -> `key_scope: text_to_image`.";
    NotSnakeCase = "E0306" "not-snake-case": "A param, field or option name, or a key scope, is not snake_case." => "`imageSize:` -> `image_size:`.";
    NotASecretName = "E0307" "not-a-secret-name": "A key scope's secret is not an environment variable name." => "`text_to_image: acme-key` -> `text_to_image: ACME_API_KEY_TEXT_TO_IMAGE`.";
    LiteralSecret = "E0308" "literal-secret": "A literal in a spec looks like a credential." => "Remove `Authorization: Bearer sk-...`; the key comes from `key_scope`.";

    ReservedParamName = "E0401" "reserved-param-name": "A param is named like a runtime value (`uuid`, `callback_url`, `task_id`)." => "Rename the param `task_id` to `source_task_id`.";
    FieldNotForType = "E0402" "field-not-for-type": "A bound that does not apply to the param's type." => "Remove `max_length` from an `integer` param.";
    SendAsRedundant = "E0403" "send-as-redundant": "`send_as: string` on a param that is already sent as a string." => "Remove `send_as: string`.";
    RequiredWithDefault = "E0404" "required-with-default": "A required param has a default." => "Remove `default:`, or `required: true`.";
    BoundsReversed = "E0405" "bounds-reversed": "A lower bound is above its upper bound." => "`{ min: 10, max: 1 }` -> `{ min: 1, max: 10 }`.";
    StepNotPositive = "E0406" "step-not-positive": "A param's `step` is zero or negative." => "`step: 0` -> `step: 64`.";
    EnumWithoutValues = "E0407" "enum-without-values": "An `enum` param has no values." => "Add `values: [small, large]`.";
    BadEnumValue = "E0408" "bad-enum-value": "An enum value is duplicated or empty." => "`values: [a, a]` -> `values: [a, b]`.";
    ArrayWithoutItems = "E0409" "array-without-items": "An `array` param does not say what its items are." => "Add `items: image_url`.";
    BadDefault = "E0410" "bad-default": "A param's default breaks the param's own rules." => "`default: huge` -> `default: small` (one of `values`).";
    UnusedParam = "E0411" "unused-param": "A param the request never sends." => "Add `size: \"{{ size }}\"` to the submit body, or remove the param.";
    OneOfOverlap = "E0412" "one-of-overlap": "Two options of a `one_of` take the same JSON type, so a value's type cannot choose between them." => "Merge the options `preset` (an `enum`) and `name` (a `string`) into one.";
    UnsupportedNesting = "E0413" "unsupported-nesting": "An object field that is not a scalar, or a `one_of` option that is neither a scalar nor an `object`." => "`width: { type: object, ... }` -> `width: { type: integer }`.";
    ObjectWithoutFields = "E0414" "object-without-fields": "An `object` param or option has no `fields`." => "Add `fields: { width: { type: integer, required: true } }`.";
    OneOfWithoutOptions = "E0415" "one-of-without-options": "A `one_of` param has no `options`." => "Add `options: { preset: { type: enum, values: [square] }, custom: { type: object, ... } }`.";
    MisplacedSetting = "E0416" "misplaced-setting": "`required`, `default` or `send_as` where it does not apply: on an option of a `one_of`, or `send_as` on an object's field." => "Move `default: square` from the option to the `one_of` param.";

    BadDecimal = "E0501" "bad-decimal": "A decimal string does not parse as an exact decimal." => "`base: \"8,5\"` -> `base: \"8.5\"`.";
    NegativeCost = "E0502" "negative-cost": "A cost or a cost factor is below zero." => "`base: \"-1\"` -> `base: \"1\"`.";
    MultiplierUnknownParam = "E0503" "multiplier-unknown-param": "A cost multiplier names a param the model does not declare." => "`param: sise` -> `param: size`.";
    MultiplierOptionalParam = "E0504" "multiplier-optional-param": "A cost multiplier names a param that may be absent (optional, no default)." => "Give the param a `default:`, or make it `required: true`.";
    MultiplierShape = "E0505" "multiplier-shape": "A multiplier has none or more than one of `table`, `per` and `count`." => "Keep one: `table: { small: \"1\", large: \"2\" }`.";
    MultiplierParamKind = "E0506" "multiplier-param-kind": "A multiplier kind that does not fit its param's type." => "Use `per: 5` for an integer param and `table:` for an enum.";
    TableMissingValue = "E0507" "table-missing-value": "A cost table has no factor for one of the param's values." => "Add `large: \"2\"` to the table.";
    TableUnknownValue = "E0508" "table-unknown-value": "A cost table has a factor for a value the param does not have." => "`lrage: \"2\"` -> `large: \"2\"`.";
    MultiplierFieldNotObject = "E0509" "multiplier-field-not-object": "A multiplier names a `field` of a param that is not an `object` (a `one_of` included)." => "Remove `field: width`, or point `param:` at the object param.";
    MultiplierUnknownField = "E0510" "multiplier-unknown-field": "A multiplier names a `field` its object param does not have." => "`field: widht` -> `field: width`.";

    UnknownPlaceholder = "E0601" "unknown-placeholder": "A `{{ name }}` names no param and no runtime value, or is malformed." => "`\"{{ promt }}\"` -> `\"{{ prompt }}\"`.";
    TaskIdInSubmit = "E0602" "task-id-in-submit": "`{{ task_id }}` in the submit request, before the provider has given one." => "Move `{{ task_id }}` from `submit` to `poll.path`.";
    CallbackUrlMisplaced = "E0603" "callback-url-misplaced": "`{{ callback_url }}` outside the submit of a `webhook` model." => "Set `mode: webhook`, or remove `callBackUrl: \"{{ callback_url }}\"`.";
    ParamInPoll = "E0604" "param-in-poll": "A request after the submit uses a param; it knows only `task_id` and kept values." => "`/status/{{ prompt }}` -> `/status/{{ task_id }}`.";
    BodyOnGet = "E0605" "body-on-get": "A `GET` request has a `body`; GET requests send none." => "Remove `body:`, or use `method: POST`.";
    MissingOutputs = "E0606" "missing-outputs": "A `sync` model does not say where its outputs are." => "Add `outputs: { at: /images/*/url }` to `response`.";
    OutputsMisplaced = "E0607" "outputs-misplaced": "An async model reads outputs from the submit answer." => "Move `outputs:` from `response` to `poll`.";
    MissingTaskId = "E0608" "missing-task-id": "An async model does not say where the task id is in the submit answer." => "Add `task_id: /data/taskId` to `response`.";
    TaskIdInSync = "E0609" "task-id-in-sync": "A `sync` model reads a task id." => "Remove `task_id:`, or set `mode: poll`.";
    NoProviderWebhook = "E0610" "no-provider-webhook": "A `webhook` model's provider declares no webhook delivery." => "Add `webhook:` to the provider file, or set `mode: poll`.";
    ThenWithoutJsonString = "E0611" "then-without-json-string": "`then` on outputs that are not a JSON string." => "Add `json_string: true`, or remove `then:`.";
    NonPositiveRate = "E0612" "non-positive-rate": "`credits_per_unit` is zero or negative." => "`credits_per_unit: \"0\"` -> `credits_per_unit: \"1000\"`.";
    PollInSync = "E0613" "poll-in-sync": "A `sync` model has a `poll` block." => "Remove `poll:`, or set `mode: poll`.";
    MissingPoll = "E0614" "missing-poll": "A `poll` or `webhook` model has no `poll` (or `result`) block." => "Add `poll:` with the status request and its `states`.";
    MissingState = "E0615" "missing-state": "No provider state maps to a meaning the step needs: `completed` (and `failed`, unless a `result` step follows), or `done` before a `result` step." => "Add `fail: failed` to `states`.";
    IntervalOverMax = "E0616" "interval-over-max": "The poll `interval` is longer than `max_interval`." => "`interval: 1m` with `max_interval: 30s` -> `interval: 5s`.";
    BadDuration = "E0617" "bad-duration": "A duration does not parse." => "`timeout: 5 minutes` -> `timeout: 5m`.";
    LatencyOverTimeout = "E0618" "latency-over-timeout": "The expected latency is longer than the timeout." => "`expected_latency: 20m` with `timeout: 15m` -> `expected_latency: 4m`.";
    BadPointer = "E0619" "bad-pointer": "A JSON pointer is malformed." => "`data.taskId` -> `/data/taskId`.";
    PathOrUrl = "E0620" "path-or-url": "A request has both `path` and `url`, or neither." => "Keep `url: \"{{ kept.status_url }}\"` and remove `path:`.";
    UrlInSubmit = "E0621" "url-in-submit": "The submit takes its URL from an answer, before there is one." => "`url: \"{{ kept.x }}\"` -> `path: /v1/jobs` in `submit`.";
    KeptInSubmit = "E0622" "kept-in-submit": "A `{{ kept.NAME }}` value in the submit, before the answer that holds it." => "Use `{{ kept.status_url }}` in `poll`, `result` or `cancel`.";
    UnknownKept = "E0623" "unknown-kept": "`{{ kept.NAME }}` names a value `response.keep` does not keep." => "Add `status_url: /status_url` to `response.keep`, or fix the name.";
    DoneWithoutResult = "E0624" "done-without-result": "A state maps to `done`, but no `result` step follows to tell completed from failed." => "Map it to `completed` and add `outputs:`, or add `result:`.";
    OutputsBeforeResult = "E0625" "outputs-before-result": "`poll.outputs` with a `result` step, which is where the outputs are read." => "Move `outputs:` from `poll` to `result`.";
    MissingPollOutputs = "E0626" "missing-poll-outputs": "A state maps to `completed`, but the block does not say where the outputs are." => "Add `outputs: { at: /output }`, or map the state to `done` and add `result:`.";
    CancelInSync = "E0627" "cancel-in-sync": "A `sync` model has a `cancel` request; there is no task to cancel." => "Remove `cancel:`, or set `mode: poll`.";
    WebhookReadingMisplaced = "E0628" "webhook-reading-misplaced": "`execution.webhook` on a model that is not in `webhook` mode." => "Set `mode: webhook`, or remove `execution.webhook`.";
    BadAllowedHost = "E0629" "bad-allowed-host": "An `allowed_hosts` entry is not a bare host name." => "`https://cdn.fal.media/` -> `cdn.fal.media`.";
    LikePollWithoutPoll = "E0630" "like-poll-without-poll": "`response.like_poll` on a model without a `poll` step." => "Add `poll:`, or remove `like_poll`.";
    ResultInSync = "E0631" "result-in-sync": "A `sync` model has a `result` or `webhook` block." => "Remove it, or set `mode: poll`.";
    CompletedBeforeResult = "E0632" "completed-before-result": "A poll state maps to `completed`, but a `result` step follows and reads the outputs." => "`COMPLETED: completed` -> `COMPLETED: done` in `poll.states`.";
    ObjectInText = "E0633" "object-in-text": "An `object` or `one_of` param inside text (a path, a header, a string with other text), where it has no text form." => "`\"size {{ image_size }}\"` -> `image_size: \"{{ image_size }}\"` in the body.";

    AuthPrefixMisplaced = "E0701" "auth-prefix-misplaced": "`auth.prefix` on an auth type other than `header`." => "Remove `prefix:`, or set `type: header`.";
    AuthNameMisplaced = "E0702" "auth-name-misplaced": "`auth.name` with `type: bearer`, which uses `Authorization`." => "Remove `name:`, or set `type: header`.";
    MissingAuthName = "E0703" "missing-auth-name": "`header` or `query` auth without the `name` that carries the key." => "Add `name: X-API-Key` to `auth`.";
    OkCodesWithoutCode = "E0704" "ok-codes-without-code": "`errors.ok_codes` without the `code` pointer they are compared with." => "Add `code: /code` to `errors`.";
    MissingSecretScope = "E0705" "missing-secret-scope": "A signed webhook scheme without the key scope of its signing secret." => "Add `secret_scope: webhook` to `webhook`.";
    UnsignedWebhook = "E0706" "unsigned-webhook": "Unsigned webhooks that are not confirmed by a poll." => "Add `confirm_by_poll: true`, or use a signature scheme.";

    SmokeUnknownParam = "E0801" "smoke-unknown-param": "The smoke test sets a param the model does not declare." => "`promt: x` -> `prompt: x` in `smoke.params`.";
    SmokeMissingParam = "E0802" "smoke-missing-param": "The smoke test lacks a required param." => "Add `prompt: \"A red apple\"` to `smoke.params`.";
    SmokeBadValue = "E0803" "smoke-bad-value": "A smoke param value breaks the param's rules." => "`size: huge` -> `size: small` in `smoke.params`.";

    BadPercentage = "E0901" "bad-percentage": "A monitoring percentage outside 0 to 100." => "`success_rate_goal: \"120\"` -> `success_rate_goal: \"95\"`.";
    LatencyFactorTooLow = "E0902" "latency-factor-too-low": "A latency factor of 1 or less, which alerts on normal latency." => "`latency_factor: \"1\"` -> `latency_factor: \"2\"`.";
    WindowNotWholeSeconds = "E0903" "window-not-whole-seconds": "A monitoring window that is not a whole number of seconds." => "`latency_window: 1500ms` -> `latency_window: 15m`.";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of problem: its stable code.
    pub code: Code,
    /// The file, as the user named it (relative to where they ran the tool when possible).
    pub file: PathBuf,
    /// Where in the file.
    pub span: Span,
    /// What is wrong, in one line.
    pub message: String,
    /// What was expected, if that helps.
    pub expected: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Zero for a problem. Otherwise this entry stands for that many further problems in
    /// `file` that are not shown (see [`MAX_PER_FILE`]); its span is the first of them.
    pub omitted: usize,
}

/// Problems shown per file; the rest are counted in one "and N more" entry. A file with
/// thousands of problems is generated or pasted, and its first problems say what is wrong.
pub const MAX_PER_FILE: usize = 50;

impl Diagnostic {
    /// A diagnostic with only a code and a message.
    pub fn new(
        code: Code,
        file: impl Into<PathBuf>,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            file: file.into(),
            span,
            message: message.into(),
            expected: None,
            hint: None,
            omitted: 0,
        }
    }

    /// The entry that stands for `count` problems of `file` that are not shown, the first of
    /// them at `first`.
    pub fn more(file: impl Into<PathBuf>, first: Span, count: usize) -> Self {
        let file = file.into();
        let message = format!(
            "and {count} more problem{} in {}",
            if count == 1 { "" } else { "s" },
            file.display()
        );
        Diagnostic {
            hint: Some(format!(
                "only the first {MAX_PER_FILE} problems of a file are shown, the next is at line \
                 {}, column {}; fix these and run again to see the rest",
                first.line, first.col
            )),
            omitted: count,
            ..Diagnostic::new(Code::MoreProblems, file, first, message)
        }
    }

    /// How many problems this entry stands for: one, or the count of an "and N more" entry.
    pub fn count(&self) -> usize {
        if self.omitted > 0 { self.omitted } else { 1 }
    }

    /// Add what was expected.
    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Add a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a hint when there is one.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }

    /// Render with a source snippet, the span marked, and the expectation and hint as notes.
    /// `source` is the file's text, when it could be read.
    pub fn render(&self, source: Option<&str>, color: bool) -> String {
        let path = self.file.display().to_string();
        let mut group = Group::with_title(
            Level::ERROR
                .primary_title(&self.message)
                .id(self.code.as_str()),
        );
        // An "and N more" entry has no snippet: the problems it counts are not shown.
        let source = source.filter(|_| self.omitted == 0);
        if let Some(source) = source {
            // Only the span's line goes to the renderer: a snippet of a whole large file would
            // cost its length for every diagnostic.
            let (line, range) = line_of(source, self.span);
            group = group.element(
                Snippet::source(&source[line.clone()])
                    .line_start(self.span.line.max(1))
                    .path(path.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(range.start - line.start..range.end - line.start),
                    ),
            );
        }
        if let Some(expected) = &self.expected {
            group = group.element(Level::NOTE.message(format!("expected {expected}")));
        }
        if let Some(hint) = &self.hint {
            group = group.element(Level::HELP.message(hint.as_str()));
        }
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = renderer.render(&[group]);
        if source.is_none() && self.omitted == 0 {
            out = format!("{self}\n{out}");
        }
        out
    }
}

impl Diagnostic {
    /// Where the span ends, as a 1-based line and the 1-based column just past its last
    /// character, when the source is known. Costs the length of the span.
    pub fn end(&self, source: Option<&str>) -> (usize, usize) {
        let Some(source) = source.filter(|_| self.span.end > self.span.start) else {
            return (self.span.line, self.span.col + 1);
        };
        let start = byte_offset(source, 0, self.span.start);
        let end = byte_offset(source, start, self.span.end - self.span.start);
        let (mut line, mut col) = (self.span.line, self.span.col);
        let mut chars = source[start..end].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' | '\r' => {
                    line += 1;
                    col = 1;
                }
                _ => col += 1,
            }
        }
        (line, col)
    }

    /// The mark the human form draws, as `(line, first column, last column)`: on the span's
    /// first line, at least one character wide, both columns 1-based and inclusive.
    fn mark(&self, source: Option<&str>) -> (usize, usize, usize) {
        let Some(source) = source else {
            return (self.span.line, self.span.col, self.span.col);
        };
        let (_, range) = line_of(source, self.span);
        let width = source[range].chars().count().max(1);
        (self.span.line, self.span.col, self.span.col + width - 1)
    }

    /// One JSON object, the `--message-format json` form: `line`/`column` where the span
    /// starts, `end_line`/`end_column` just past its end (1-based, in characters), and
    /// `span` as character offsets into the file (`end` exclusive).
    pub fn to_json(&self, source: Option<&str>) -> serde_json::Value {
        let (end_line, end_column) = self.end(source);
        let mut v = serde_json::json!({
            "reason": "diagnostic",
            "file": self.file.display().to_string(),
            "line": self.span.line,
            "column": self.span.col,
            "end_line": end_line,
            "end_column": end_column,
            "span": { "start": self.span.start, "end": self.span.end.max(self.span.start) },
            "code": self.code.as_str(),
            "name": self.code.name(),
            "severity": "error",
            "message": self.message,
            "expected": self.expected,
            "hint": self.hint,
        });
        if self.omitted > 0 {
            v["omitted"] = self.omitted.into();
        }
        v
    }

    /// One GitHub Actions workflow command, the `--message-format github` form, so the
    /// problem shows on the pull request's diff at the marked value.
    pub fn to_github(&self, source: Option<&str>) -> String {
        let (line, col, end_col) = self.mark(source);
        let mut text = self.message.clone();
        let notes: Vec<String> = [
            self.expected.as_ref().map(|e| format!("expected {e}")),
            self.hint.as_ref().map(|h| format!("hint: {h}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !notes.is_empty() {
            text = format!("{text} ({})", notes.join("; "));
        }
        format!(
            "::error file={},line={line},col={col},endLine={line},endColumn={end_col},title={}::{}",
            github_property(&self.file.display().to_string()),
            github_property(self.code.as_str()),
            github_data(&text)
        )
    }
}

/// Escape the message of a workflow command: `%`, CR and LF.
pub fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property of a workflow command: as its message, plus `:` and `,`.
pub fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `file:line:col: message`, the one-line form used by tests and editors.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.span.line,
            self.span.col,
            self.message
        )
    }
}

/// The byte range of a span's first line, with its line break, and the byte range of the
/// span, clamped to that line and at least one character wide where the source allows. Costs
/// the length of the line, not of the file, for ASCII sources.
fn line_of(source: &str, span: Span) -> (Range<usize>, Range<usize>) {
    let start = byte_offset(source, 0, span.start);
    // YAML breaks lines at LF, CR LF and a lone CR; so does the span's line number.
    let line_start = source[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line_end = source[start..]
        .find(['\n', '\r'])
        .map_or(source.len(), |i| start + i);
    let with_break = if source[line_end..].starts_with("\r\n") {
        line_end + 2
    } else {
        (line_end + 1).min(source.len())
    };
    let end = if span.end > span.start {
        byte_offset(source, start, span.end - span.start)
    } else {
        start
    };
    // Keep the mark on the first line: a block mapping's span runs to the next key.
    let mut end = end.clamp(start, line_end);
    if end == start && start < source.len() {
        end = start + source[start..].chars().next().map_or(0, char::len_utf8);
    }
    (line_start..with_break, start..end)
}

/// The byte offset `chars` characters after byte `from`, clamped to the end of `source`.
fn byte_offset(source: &str, from: usize, chars: usize) -> usize {
    let rest = &source[from..];
    let n = chars.min(rest.len());
    if rest.as_bytes()[..n].is_ascii() {
        return from + n;
    }
    rest.char_indices()
        .nth(chars)
        .map_or(source.len(), |(i, _)| from + i)
}

/// All diagnostics of a run, in file then position order.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// None yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorted by file, line and column, duplicates removed, at most [`MAX_PER_FILE`] per
    /// file: the rest of a file's problems become one "and N more" entry after them, so that
    /// [`problem_count`] stays the true total. Applying it again to its own output (plus new
    /// diagnostics) merges the counts.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let (mut shown, summaries): (Vec<Diagnostic>, Vec<Diagnostic>) =
            self.0.into_iter().partition(|d| d.omitted == 0);
        shown.sort_by(|a, b| {
            (&a.file, a.span.line, a.span.col, &a.message).cmp(&(
                &b.file,
                b.span.line,
                b.span.col,
                &b.message,
            ))
        });
        shown.dedup();
        // File -> (problems not shown, the first of them).
        let mut more: BTreeMap<PathBuf, (usize, Span)> = BTreeMap::new();
        for s in summaries {
            let entry = more.entry(s.file).or_insert((0, s.span));
            entry.0 += s.omitted;
            entry.1 = first(entry.1, s.span);
        }
        let mut out = Vec::new();
        let mut rest = shown.into_iter().peekable();
        while let Some(d) = rest.next() {
            let file = d.file.clone();
            let mut in_file = vec![d];
            while let Some(next) = rest.next_if(|n| n.file == file) {
                if in_file.len() < MAX_PER_FILE {
                    in_file.push(next);
                } else {
                    let entry = more.entry(file.clone()).or_insert((0, next.span));
                    entry.0 += 1;
                    entry.1 = first(entry.1, next.span);
                }
            }
            out.extend(in_file);
            if let Some((count, at)) = more.remove(&file) {
                out.push(Diagnostic::more(file, at, count));
            }
        }
        // Counts of files none of whose problems is shown (not produced here, but kept).
        for (file, (count, at)) in more {
            out.push(Diagnostic::more(file, at, count));
        }
        out
    }
}

/// The earlier of two spans.
fn first(a: Span, b: Span) -> Span {
    if (b.line, b.col) < (a.line, a.col) {
        b
    } else {
        a
    }
}

/// The number of problems `diags` stand for, counting each "and N more" entry as N.
pub fn problem_count(diags: &[Diagnostic]) -> usize {
    diags.iter().map(Diagnostic::count).sum()
}

/// The closest candidate to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Jaro-Winkler rates a swap of two letters in a short word low (`GTE` for `GET`), so one
    // edit or swap, ignoring case, counts as close too.
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let one_edit =
                c.chars().count() > 2 && strsim::osa_distance(&lower, &c.to_lowercase()) <= 1;
            let score = strsim::jaro_winkler(name, c);
            (if one_edit { score.max(0.81) } else { score }, c)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Show a path relative to `base` when it lies under it.
pub fn display_path(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(file: &str, line: usize) -> Diagnostic {
        let span = Span {
            line,
            col: 1,
            start: 0,
            end: 0,
        };
        Diagnostic::new(
            Code::UnknownField,
            file,
            span,
            format!("problem on line {line}"),
        )
    }

    #[test]
    fn shows_the_first_problems_of_a_file_and_counts_the_rest() {
        let mut diags = Diagnostics::default();
        for line in (1..=120).rev() {
            diags.push(at("b.yaml", line));
        }
        diags.push(at("a.yaml", 3));
        let out = diags.into_sorted();
        assert_eq!(out.len(), 1 + MAX_PER_FILE + 1);
        assert_eq!(out[0].file, Path::new("a.yaml"));
        assert_eq!(out[1].span.line, 1);
        assert_eq!(out[MAX_PER_FILE].span.line, 50);
        let more = &out[MAX_PER_FILE + 1];
        assert_eq!(
            more.to_string(),
            "b.yaml:51:1: and 70 more problems in b.yaml"
        );
        assert_eq!(problem_count(&out), 121);
        // No snippet for the count, whatever the source; the hint says where the next is.
        let text = more.render(Some("x\n"), false);
        assert!(
            text.starts_with("error[E0001]: and 70 more problems in b.yaml\n"),
            "{text}"
        );
        assert!(!text.contains("-->"), "{text}");
        assert!(text.contains("the next is at line 51, column 1"), "{text}");
    }

    #[test]
    fn sorting_again_keeps_the_counts() {
        let mut diags = Diagnostics::default();
        for line in 1..=60 {
            diags.push(at("b.yaml", line));
        }
        let mut again = Diagnostics(diags.into_sorted());
        again.push(at("c.yaml", 1));
        let out = again.into_sorted();
        assert_eq!(out.len(), MAX_PER_FILE + 2);
        assert_eq!(out[MAX_PER_FILE].message, "and 10 more problems in b.yaml");
        assert_eq!(problem_count(&out), 61);
    }

    #[test]
    fn codes_are_unique_ascending_and_named_in_kebab_case() {
        let mut names = std::collections::HashSet::new();
        for pair in Code::ALL.windows(2) {
            assert!(
                pair[0].as_str() < pair[1].as_str(),
                "{} then {}",
                pair[0],
                pair[1]
            );
        }
        for code in Code::ALL {
            let c = code.as_str();
            assert!(
                c.len() == 5 && c.starts_with('E') && c[1..].bytes().all(|b| b.is_ascii_digit()),
                "{c}"
            );
            assert!(names.insert(code.name()), "name {} twice", code.name());
            assert!(
                code.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                code.name()
            );
            assert!(
                code.meaning().ends_with('.') && code.example_fix().ends_with('.'),
                "{c}"
            );
        }
    }

    #[test]
    fn the_human_form_shows_the_code_like_rustc() {
        let d = Diagnostic::new(
            Code::UnknownField,
            "a.yaml",
            Span {
                line: 1,
                col: 1,
                start: 0,
                end: 6,
            },
            "unknown field `colour`",
        );
        let text = d.render(Some("colour: red\n"), false);
        assert!(
            text.starts_with("error[E0201]: unknown field `colour`\n"),
            "{text}"
        );
    }

    #[test]
    fn json_and_github_forms_place_the_whole_value() {
        let source = "a: 1\nb: { x: \"50%, ok\" }\n";
        let d = Diagnostic::new(
            Code::WrongType,
            "m,a:p.yaml",
            Span {
                line: 2,
                col: 11,
                start: 15,
                end: 24,
            },
            "50% off\nnext",
        )
        .expected("a list")
        .hint("write `[x]`");
        let v = d.to_json(Some(source));
        assert_eq!(
            v.to_string(),
            r#"{"reason":"diagnostic","file":"m,a:p.yaml","line":2,"column":11,"end_line":2,"end_column":20,"span":{"start":15,"end":24},"code":"E0203","name":"wrong-type","severity":"error","message":"50% off\nnext","expected":"a list","hint":"write `[x]`"}"#
        );
        assert_eq!(
            d.to_github(Some(source)),
            "::error file=m%2Ca%3Ap.yaml,line=2,col=11,endLine=2,endColumn=19,title=E0203::50%25 off%0Anext (expected a list; hint: write `[x]`)"
        );
        // A span over two lines ends on the second; the GitHub mark stays on the first.
        let block = Diagnostic::new(
            Code::WrongType,
            "f",
            Span {
                line: 1,
                col: 1,
                start: 0,
                end: 7,
            },
            "m",
        );
        assert_eq!(block.end(Some(source)), (2, 3));
        assert!(
            block
                .to_github(Some(source))
                .contains("line=1,col=1,endLine=1,endColumn=4,")
        );
    }

    #[test]
    fn marks_only_the_line_of_the_span() {
        let source = "a: 1\nbé: { x: 2 }\nc: 3\n";
        let span = Span {
            line: 2,
            col: 5,
            start: 9,
            end: 15,
        };
        let (line, range) = line_of(source, span);
        assert_eq!(&source[line], "bé: { x: 2 }\n");
        assert_eq!(&source[range], "{ x: 2");
        // Past the end: an empty mark at the end, no panic.
        let far = Span {
            line: 9,
            col: 1,
            start: 99,
            end: 120,
        };
        assert_eq!(line_of(source, far).1, source.len()..source.len());
    }
}
