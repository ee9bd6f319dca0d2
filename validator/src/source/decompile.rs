//! The decompiler: a content back to its source form. `compile(decompile(c))` yields `c`
//! again, byte for byte (a test checks it on every file of the corpus).

use std::fmt::Write as _;

use dcf_parser::{Content, Match, Node, Operand, Rule, Target, Template};

use crate::manifest::is_valid_name;
use crate::time::format_rfc3339;

/// A YAML double-quoted scalar: JSON string escapes are valid YAML escapes.
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// A name as a plain scalar when that reads back as the same string, else quoted.
fn name(text: &str) -> String {
    let reserved = matches!(
        text,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null" | "NULL" | "~"
    );
    if is_valid_name(text) && !reserved && !text.ends_with(['.', '-']) {
        text.to_string()
    } else {
        q(text)
    }
}

fn time(secs: u64) -> String {
    let text = format_rfc3339(secs);
    // Years past 9999 do not have an RFC 3339 form; seconds always read back.
    if text.len() == 20 {
        q(&text)
    } else {
        secs.to_string()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The expression as a tree of source conditions, rebuilt from postfix.
#[derive(Debug)]
enum Tree<'c> {
    Leaf(&'c Node<Vec<String>>),
    And(Vec<Tree<'c>>),
    Or(Vec<Tree<'c>>),
    Not(Box<Tree<'c>>),
    AtLeast(u32, Vec<Tree<'c>>),
}

fn tree(expression: &[Node<Vec<String>>]) -> Option<Tree<'_>> {
    let mut stack: Vec<Tree<'_>> = Vec::new();
    for node in expression {
        let base = stack.len().checked_sub(node.pops() as usize)?;
        let operands = stack.split_off(base);
        stack.push(match node {
            Node::And { .. } => Tree::And(operands),
            Node::Or { .. } => Tree::Or(operands),
            Node::AtLeast { required, .. } => Tree::AtLeast(*required, operands),
            Node::Not => Tree::Not(Box::new(operands.into_iter().next()?)),
            leaf => Tree::Leaf(leaf),
        });
    }
    match (stack.pop(), stack.is_empty()) {
        (Some(t), true) => Some(t),
        _ => None,
    }
}

struct Writer<'c> {
    out: String,
    template: Option<&'c Template>,
}

impl<'c> Writer<'c> {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn field(&self, index: u16) -> String {
        let fields = self
            .template
            .map(|t| t.fields.as_slice())
            .unwrap_or_default();
        match fields.get(usize::from(index)) {
            // A name read back must find this index: unique among the template's fields.
            Some(f) if fields.iter().filter(|o| o.name == f.name).count() == 1 => name(&f.name),
            _ => index.to_string(),
        }
    }

    /// Writes a condition as a sequence item (`- ...`) or a mapping value at `indent`.
    fn condition(&mut self, indent: usize, prefix: &str, t: &Tree<'_>) {
        let pad = " ".repeat(prefix.len());
        match t {
            Tree::And(items) | Tree::Or(items) => {
                let op = if matches!(t, Tree::And(_)) {
                    "and"
                } else {
                    "or"
                };
                if items.is_empty() {
                    self.line(indent, &format!("{prefix}{op}: []"));
                } else {
                    self.line(indent, &format!("{prefix}{op}:"));
                    for item in items {
                        self.condition(indent + prefix.len() + 2, "- ", item);
                    }
                }
            }
            Tree::AtLeast(n, items) => {
                self.line(indent, &format!("{prefix}at_least: {n}"));
                if items.is_empty() {
                    self.line(indent, &format!("{pad}of: []"));
                } else {
                    self.line(indent, &format!("{pad}of:"));
                    for item in items {
                        self.condition(indent + prefix.len() + 2, "- ", item);
                    }
                }
            }
            Tree::Not(inner) => {
                self.line(indent, &format!("{prefix}not:"));
                self.condition(indent + prefix.len() + 2, "", inner);
            }
            Tree::Leaf(node) => {
                let lines = self.leaf(node);
                for (i, l) in lines.iter().enumerate() {
                    let p = if i == 0 { prefix } else { pad.as_str() };
                    self.line(indent, &format!("{p}{l}"));
                }
            }
        }
    }

    fn leaf(&self, node: &Node<Vec<String>>) -> Vec<String> {
        match node {
            Node::Any { field } => vec![
                format!("field: {}", self.field(*field)),
                "wildcard: true".into(),
            ],
            Node::Exists { field } => vec![
                format!("field: {}", self.field(*field)),
                "exists: true".into(),
            ],
            Node::IsNull { field } => vec![
                format!("field: {}", self.field(*field)),
                "exists: false".into(),
            ],
            Node::Compare { op, field, value } => vec![
                format!("field: {}", self.field(*field)),
                format!("{}: {value}", op.name()),
            ],
            Node::Match(Match {
                kind,
                target,
                case_sensitive,
                all_of,
                operand,
            }) => {
                let mut lines = vec![match target {
                    Target::Field(f) => format!("field: {}", self.field(*f)),
                    Target::Keyword => "keyword: true".to_string(),
                }];
                lines.push(match operand {
                    Operand::Field(other) => {
                        format!("{}: {{field: {}}}", kind.name(), self.field(*other))
                    }
                    Operand::Values(values) => match values.as_slice() {
                        [one] => format!("{}: {}", kind.name(), q(one)),
                        many => format!(
                            "{}: [{}]",
                            kind.name(),
                            many.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
                        ),
                    },
                });
                if *case_sensitive {
                    lines.push("case_sensitive: true".into());
                }
                if *all_of {
                    lines.push("all_of: true".into());
                }
                lines
            }
            // Operators never reach here: `tree` turns them into branches.
            Node::And { .. } | Node::Or { .. } | Node::Not | Node::AtLeast { .. } => {
                vec!["and: []".into()]
            }
        }
    }

    fn rule(&mut self, content: &'c Content, rule: &Rule) {
        self.template = content.template(rule.template);
        self.line(2, &format!("- id: {}", rule.id));
        self.line(4, &format!("title: {}", q(&rule.title)));
        self.line(4, &format!("author: {}", q(&rule.author)));
        let template = match self.template {
            Some(t)
                if content
                    .templates
                    .iter()
                    .filter(|o| o.name == t.name)
                    .count()
                    == 1 =>
            {
                name(&t.name)
            }
            _ => rule.template.to_string(),
        };
        self.line(4, &format!("template: {template}"));
        self.line(4, &format!("severity: {}", rule.severity.name()));
        self.line(4, &format!("action: {}", rule.action.name()));
        // Attributes in the order `compile` writes them back: description, tags, references,
        // then the rest as written.
        let attrs = &rule.attributes;
        let mut i = 0usize;
        if let Some(a) = attrs.first().filter(|a| a.key == "description") {
            self.line(4, &format!("description: {}", q(&a.value)));
            i = 1;
        }
        for (key, list) in [("tag", "tags"), ("reference", "references")] {
            let run: Vec<&str> = attrs
                .iter()
                .skip(i)
                .take_while(|a| a.key == key)
                .map(|a| a.value.as_str())
                .collect();
            if !run.is_empty() {
                self.line(4, &format!("{list}:"));
                for v in &run {
                    self.line(6, &format!("- {}", q(v)));
                }
                i += run.len();
            }
        }
        let rest: Vec<_> = attrs.iter().skip(i).collect();
        if !rest.is_empty() {
            self.line(4, "attributes:");
            for a in rest {
                self.line(6, &format!("- {}: {}", q(&a.key), q(&a.value)));
            }
        }
        match tree(&rule.expression) {
            Some(t) => {
                self.line(4, "condition:");
                self.condition(6, "", &t);
            }
            None => self.line(
                4,
                "condition: {and: []}  # the expression could not be rebuilt",
            ),
        }
    }
}

/// Writes a content as source text: its header, its declared interface (so that the output
/// compiles on its own), its extensions and its rules.
pub fn decompile(content: &Content) -> String {
    let mut w = Writer {
        out: String::new(),
        template: None,
    };
    let h = &content.header;
    w.line(
        0,
        "# dcf content source (decompiled). Compile with: dcf compile THIS_FILE -o OUT.dcf",
    );
    if content.signature.is_some() {
        w.line(
            0,
            "# The original was signed; sources are unsigned: sign the compiled content again.",
        );
    }
    w.line(0, "content:");
    if h.minor != 0 {
        w.line(2, &format!("format_minor: {}", h.minor));
    }
    w.line(2, &format!("channel: {}", h.channel));
    w.line(2, &format!("sequence: {}", h.sequence));
    w.line(2, &format!("created: {}", time(h.created_at)));
    w.line(2, &format!("expires: {}", time(h.expires_at)));
    w.line(2, &format!("sensor_min: {}", q(&h.sensor_min.to_string())));
    w.line(2, &format!("sensor_max: {}", q(&h.sensor_max.to_string())));
    if content.templates.is_empty() {
        w.line(0, "templates: []");
    } else {
        w.line(0, "templates:");
    }
    for t in &content.templates {
        w.line(2, &format!("- id: {}", t.id));
        w.line(4, &format!("name: {}", q(&t.name)));
        if t.fields.is_empty() {
            w.line(4, "fields: []");
        } else {
            w.line(4, "fields:");
            for f in &t.fields {
                w.line(
                    6,
                    &format!("- {{name: {}, type: {}}}", q(&f.name), f.kind.name()),
                );
            }
        }
    }
    if !content.extensions.is_empty() {
        w.line(0, "extensions:");
        for e in &content.extensions {
            w.line(2, &format!("- tag: {}", e.tag));
            w.line(4, &format!("payload: {}", q(&hex(&e.payload))));
        }
    }
    if content.rules.is_empty() {
        w.line(0, "rules: []");
    } else {
        w.line(0, "rules:");
    }
    for rule in &content.rules {
        w.rule(content, rule);
    }
    w.out
}
